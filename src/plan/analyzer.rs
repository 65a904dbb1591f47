//! TOML text → validated [`Plan`]: every table decoded on its own so that all
//! problems are reported at once, each at its exact place.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

use indexmap::{IndexMap, IndexSet};
use serde::Deserialize;
use serde::de::{IgnoredAny, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeArray, DeString, DeTable, DeValue};

use crate::plan::declarations;
use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::kind_field;
use crate::plan::model::{DEFAULT_PHASE, DEFAULT_TIMEOUT, Plan, Preflight, Retry, Step};
use crate::plan::parse::{self, Entry, Section};
use crate::plan::raw::{Defaults, FormatNumber, PlanFile, PreflightFile, RetryFile, StepFile};
use crate::plan::source::Source;
use crate::plan::suggest;
use crate::plan::table_decode;
use crate::plan::template::Reference;
use crate::plan::vars::{FoundRef, Override, Substituter, Vars};
use crate::steps::{Action, Probe};
use crate::units::duration::Duration;

pub(crate) const FORMAT: i64 = 1;
const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 86_400);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3_600);

/// Decodes and checks the plan. Returns the plan when there is no error;
/// diagnostics (including warnings) either way.
pub(crate) fn analyze(source: &Source, overrides: &[Override]) -> (Option<Analysis>, Diagnostics) {
    let text: &str = &source.text;
    // A large plan is read a piece at a time (see `parse`). When a piece
    // cannot be read on its own, the work so far is dropped and the whole
    // text parsed, so the result is always the same.
    if let Some((root, pieces)) = parse::split(text) {
        let (result, failed) = std::thread::scope(|scope| {
            let mut pieces = pieces.read_ahead(scope);
            let expected = pieces.expected();
            let result = analyze_entries(source, overrides, root, &mut pieces, expected);
            (result, pieces.failed())
        });
        if !failed {
            return result;
        }
    }
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut diagnostics = Diagnostics::default();
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            let message = error
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .trim()
                .to_string();
            diagnostics.push(
                Diagnostic::error("toml-syntax", format!("TOML syntax error: {message}"))
                    .at(span, message)
                    .help("see https://toml.io for the syntax"),
            );
        }
        return (None, diagnostics);
    }
    let root_span = root.span();
    let mut root = root.into_inner();
    // Entries are decoded one at a time; the top level sees empty sections
    // (it ignores their contents anyway).
    let entries: Vec<Entry<'_>> = Section::ALL
        .into_iter()
        .flat_map(|section| {
            take_section(&mut root, section.key())
                .into_iter()
                .map(move |(key, value)| Entry { section, key, value })
        })
        .collect();
    let expected = entries.len();
    analyze_entries(source, overrides, Spanned::new(root_span, root), entries, expected)
}

fn analyze_entries<'i>(
    source: &Source,
    overrides: &[Override],
    root: Spanned<DeTable<'i>>,
    entries: impl IntoIterator<Item = Entry<'i>>,
    expected: usize,
) -> (Option<Analysis>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let root_span = root.span();
    let analyzer = Analyzer {
        source,
        text: &source.text,
        overrides,
        root_span,
        diagnostics: &mut diagnostics,
    };
    let analysis = analyzer.run(root.into_inner(), entries, expected);
    (Some(analysis), diagnostics)
}

/// A plan and what the analysis learned about it.
pub(crate) struct Analysis {
    pub plan: Plan,
    /// Vars and secrets referenced anywhere, for the "unused" warnings.
    pub used_vars: BTreeSet<String>,
    pub used_secrets: BTreeSet<String>,
    /// Spans of declarations, for warnings.
    pub var_spans: IndexMap<String, Range<usize>>,
    pub secret_spans: IndexMap<String, Range<usize>>,
}

struct Analyzer<'a> {
    source: &'a Source,
    text: &'a str,
    overrides: &'a [Override],
    root_span: Range<usize>,
    diagnostics: &'a mut Diagnostics,
}

struct StepDefaults {
    timeout: Duration,
    retry: Retry,
    idempotent: bool,
    phase: String,
}

impl Analyzer<'_> {
    /// `expected`: about how many entries there are.
    fn run<'i>(
        mut self,
        mut root: DeTable<'i>,
        entries: impl IntoIterator<Item = Entry<'i>>,
        expected: usize,
    ) -> Analysis {
        // Sections decoded on their own, entry by entry, so that a bad
        // entry hides nothing else.
        let declared_vars = declarations::vars(root.remove("vars"), self.diagnostics);
        let declared_secrets = declarations::secrets(root.remove("secrets"), self.diagnostics);
        let defaults = root.remove("defaults");
        let steps_at = self.steps_span(&mut root);
        let (name, description, parallelism) = self.top_level(root);
        let mut used_vars = BTreeSet::new();
        let mut var_refs = Vec::new();
        let vars = Vars::resolve(
            &declared_vars.entries,
            &declared_vars.invalid,
            self.overrides,
            self.text,
            &mut used_vars,
            &mut var_refs,
            self.diagnostics,
        );
        let defaults = self.defaults(defaults);
        let secrets = declared_secrets.entries;
        // Secrets that are declared but invalid are reported already; a
        // reference to one is not "undefined".
        let secret_names: Vec<String> = secrets
            .keys()
            .map(|k| k.get_ref().clone())
            .chain(declared_secrets.invalid)
            .collect();

        let mut substituter = Substituter::new(&vars, self.text);
        let mut preflight = Vec::new();
        let mut steps = Vec::with_capacity(expected);
        for Entry { section, key, value } in entries {
            match section {
                Section::Preflight => preflight.extend(self.preflight(key, value, &mut substituter)),
                Section::Steps => steps.push(self.step_entry(key, value, &mut substituter, &defaults)),
            }
        }
        if steps.is_empty()
            && let Some(at) = steps_at
        {
            self.no_steps(at);
        }
        used_vars.extend(std::mem::take(&mut substituter.used_vars));
        self.take_substitution_diagnostics(&mut substituter);

        var_refs.append(&mut substituter.found);
        let used_secrets = self.check_secret_refs(&var_refs, &secret_names);
        // In order of first appearance; a set, as a plan may have many phases.
        let phases: IndexSet<&str> = steps.iter().map(|step| step.phase.as_str()).collect();
        let phases: Vec<String> = phases.into_iter().map(str::to_string).collect();
        let plan = Plan {
            source: self.source.clone(),
            name,
            description,
            parallelism,
            vars: vars.values(),
            secrets: secrets
                .iter()
                .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
                .collect(),
            preflight,
            steps,
            phases,
        };
        Analysis {
            plan,
            used_vars,
            used_secrets,
            var_spans: vars
                .iter()
                .map(|(name, var)| (name.clone(), var.span.clone()))
                .collect(),
            secret_spans: secrets.keys().map(|k| (k.get_ref().clone(), k.span())).collect(),
        }
    }

    /// Where `steps` is. A plan without steps is reported once, as
    /// `no-steps` (an empty `steps` is put in for the decoding); `steps`
    /// that is not a table is reported as a wrong type (`None`).
    fn steps_span(&self, root: &mut DeTable<'_>) -> Option<std::ops::Range<usize>> {
        match root.get("steps") {
            Some(steps) => steps.get_ref().is_table().then(|| steps.span()),
            None => {
                let at = self.root_span.start..self.root_span.start;
                let key = Spanned::new(at.clone(), DeString::Borrowed("steps"));
                root.insert(key, Spanned::new(at.clone(), DeValue::Table(DeTable::new())));
                Some(at)
            }
        }
    }

    /// The plan's own fields: name, description, parallelism (and its format checked).
    fn top_level(&mut self, root: DeTable<'_>) -> (String, Option<String>, Option<usize>) {
        let root = Spanned::new(self.root_span.clone(), DeValue::Table(root));
        let top = table_decode::decode::<PlanFile<IgnoredAny, IgnoredAny>>(root, "the plan", &[], self.diagnostics);
        match top.usable() {
            Some(top) => {
                self.check_format(&top.format);
                let parallelism = top.parallelism.and_then(|p| self.parallelism(&p));
                (top.name, top.description, parallelism)
            }
            None => (String::new(), None, None),
        }
    }

    /// The substituter's diagnostics, and what it learned about the others.
    fn take_substitution_diagnostics(&mut self, substituter: &mut Substituter<'_>) {
        // A string with an undefined var cannot have the type its field
        // wants; that is reported once, as the undefined reference.
        let unresolved: HashSet<(usize, usize)> = std::mem::take(&mut substituter.unresolved)
            .into_iter()
            .map(|span| (span.start, span.end))
            .collect();
        if !unresolved.is_empty() {
            self.diagnostics
                .retain(|d| d.origin.is_some() || !unresolved.contains(&(d.span.start, d.span.end)));
        }
        // An error about a value set on the command line says so: the
        // text it points at is the plan's `${vars.NAME}`.
        let overridden: HashMap<(usize, usize), String> = std::mem::take(&mut substituter.overridden)
            .into_iter()
            .map(|(span, note)| ((span.start, span.end), note))
            .collect();
        if !overridden.is_empty() {
            for diagnostic in self.diagnostics.iter_mut().filter(|d| d.origin.is_none()) {
                if let Some(note) = overridden.get(&(diagnostic.span.start, diagnostic.span.end)) {
                    diagnostic.message = format!("{}; {note}", diagnostic.message);
                }
            }
        }
        self.diagnostics.extend(std::mem::take(&mut substituter.diagnostics));
    }

    fn check_format(&mut self, format: &Spanned<FormatNumber>) {
        let FormatNumber(number) = format.get_ref();
        if number != &FORMAT.to_string() {
            self.diagnostics.push(
                Diagnostic::error("unsupported-format", format!("unsupported plan format {number}"))
                    .at(format.span(), format!("this planrun reads format {FORMAT}"))
                    .help(format!(
                        "write `format = {FORMAT}`, or use the planrun release that reads this format"
                    )),
            );
        }
    }

    fn parallelism(&mut self, value: &Spanned<i64>) -> Option<usize> {
        match usize::try_from(*value.get_ref()) {
            Ok(n @ 1..=1024) => Some(n),
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "out-of-range",
                        format!("parallelism {} is out of range", value.get_ref()),
                    )
                    .at(value.span(), "expected 1 to 1024")
                    .help("parallelism is how many steps may run at once"),
                );
                None
            }
        }
    }

    fn defaults(&mut self, defaults: Option<Spanned<DeValue<'_>>>) -> StepDefaults {
        let mut out = StepDefaults {
            timeout: DEFAULT_TIMEOUT,
            retry: Retry::default(),
            idempotent: false,
            phase: DEFAULT_PHASE.to_string(),
        };
        let Some(mut defaults) = defaults else {
            return out;
        };
        let retry = take_key(&mut defaults, "retry");
        if let Some(retry) = retry.and_then(|r| self.retry(r, "`retry` in [defaults]")) {
            out.retry = retry;
        }
        let Some(defaults) = table_decode::decode::<Defaults>(defaults, "[defaults]", &[], self.diagnostics).usable()
        else {
            return out;
        };
        if let Some(timeout) = defaults.timeout.and_then(|t| self.timeout(&t)) {
            out.timeout = timeout;
        }
        out.idempotent = defaults.idempotent.unwrap_or(false);
        if let Some(phase) = defaults.phase {
            out.phase = phase;
        }
        out
    }

    fn timeout(&mut self, timeout: &Spanned<Duration>) -> Option<Duration> {
        let value = *timeout.get_ref();
        let problem = if value.as_millis() == 0 {
            "a timeout of 0 would fail every step"
        } else if value > MAX_TIMEOUT {
            "a timeout longer than 7 days is almost certainly a mistake"
        } else {
            return Some(value);
        };
        self.diagnostics.push(
            Diagnostic::error("out-of-range", format!("timeout {value} is out of range"))
                .at(timeout.span(), problem)
                .help("use a timeout above 0 and at most 7d, like \"10m\""),
        );
        None
    }

    /// A `retry` table, checked; `context` says where it is.
    fn retry(&mut self, retry: Spanned<DeValue<'_>>, context: &str) -> Option<Retry> {
        let retry = table_decode::decode::<RetryFile>(retry, context, &[], self.diagnostics).whole()?;
        let mut out = Retry::default();
        let mut ok = true;
        match u32::try_from(*retry.attempts.get_ref()) {
            Ok(n @ 1..=100) => out.attempts = n,
            _ => {
                ok = false;
                self.diagnostics.push(
                    Diagnostic::error(
                        "out-of-range",
                        format!("retry attempts {} is out of range", retry.attempts.get_ref()),
                    )
                    .at(retry.attempts.span(), "expected 1 to 100")
                    .help("`attempts` counts every try, the first included: 3 means two retries"),
                );
            }
        }
        if let Some(delay) = retry.delay {
            if *delay.get_ref() > MAX_RETRY_DELAY {
                ok = false;
                self.diagnostics.push(
                    Diagnostic::error(
                        "out-of-range",
                        format!("retry delay {} is out of range", delay.get_ref()),
                    )
                    .at(delay.span(), "longer than 1h")
                    .help("use a delay of at most 1h"),
                );
            } else {
                out.delay = *delay.get_ref();
            }
        }
        if let Some(backoff) = retry.backoff {
            let value = *backoff.get_ref();
            if value.is_finite() && (1.0..=10.0).contains(&value) {
                out.backoff = value;
            } else {
                ok = false;
                self.diagnostics.push(
                    Diagnostic::error("out-of-range", format!("retry backoff {value} is out of range"))
                        .at(backoff.span(), "expected 1.0 to 10.0")
                        .help("backoff multiplies the delay after each try; 1.0 keeps it constant"),
                );
            }
        }
        ok.then_some(out)
    }

    fn check_id(&mut self, what: &str, id: &str, span: &Range<usize>) {
        let mut chars = id.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid {
            let help = match id_suggestion(id) {
                Some(suggestion) => format!("ids match [a-z0-9][a-z0-9_-]*; try `{suggestion}`"),
                None => "ids match [a-z0-9][a-z0-9_-]*, like `backup-db`".to_string(),
            };
            self.diagnostics.push(
                Diagnostic::error("bad-id", format!("invalid {what} id `{id}`"))
                    .at(span.clone(), "ids use lowercase letters, digits, `-` and `_`")
                    .help(help),
            );
        }
    }

    /// One `[preflight.<id>]` entry, when its probe decodes.
    fn preflight<'i: 'v, 'v>(
        &mut self,
        key: Spanned<DeString<'i>>,
        raw: Spanned<DeValue<'i>>,
        substituter: &mut Substituter<'v>,
    ) -> Option<Preflight> {
        let (id, span) = (key.get_ref().to_string(), key.span());
        self.check_id("preflight", &id, &span);
        let owner = format!("preflight `{id}`");
        let found_before = substituter.found.len();
        let mut value = substituter.value(raw);
        // The probe is decoded on its own below, so that its errors keep
        // their exact place; the rest of the table ignores it.
        let probe = take_slot(&mut value, "probe");
        let decoded = table_decode::decode::<PreflightFile<IgnoredAny>>(value, &owner, &[], self.diagnostics);
        for found in &substituter.found[found_before..] {
            if let Reference::Output { step, .. } = &found.reference {
                self.diagnostics.push(
                    Diagnostic::error(
                        "output-in-preflight",
                        format!("preflight `{id}` reads outputs of step `{step}`"),
                    )
                    .at(found.span.clone(), "preflight runs before any step")
                    .help("move this check into a step that depends on the one producing the output"),
                );
            }
        }
        let probe = probe.and_then(|probe| kind_field::decode::<Probe>(probe, "probe", &owner, self.diagnostics));
        let (decoded, probe) = (decoded.usable()?, probe?);
        Some(Preflight {
            id,
            description: decoded.description,
            probe,
            help: decoded.help,
        })
    }

    /// One `[steps.<id>]` entry. A step that could not be fully decoded is
    /// kept with what could be read (its id and dependencies), so graph
    /// errors are still found; the diagnostics already say the plan is
    /// invalid.
    fn step_entry<'i: 'v, 'v>(
        &mut self,
        key: Spanned<DeString<'i>>,
        raw: Spanned<DeValue<'i>>,
        substituter: &mut Substituter<'v>,
        defaults: &StepDefaults,
    ) -> Step {
        let (id, span) = (key.get_ref().to_string(), key.span());
        self.check_id("step", &id, &span);
        let found_before = substituter.found.len();
        let value = substituter.value(raw);
        let mut step = self.step(id, span, value, defaults);
        step.output_refs = substituter.found[found_before..]
            .iter()
            .filter_map(|found| match &found.reference {
                Reference::Output { step, .. } => Some((step.clone(), found.span.clone())),
                _ => None,
            })
            .collect();
        step
    }

    fn no_steps(&mut self, at: Range<usize>) {
        self.diagnostics.push(
            Diagnostic::error("no-steps", "the plan has no steps")
                .at(at, "a plan needs at least one step")
                .help("add a step: [steps.first] run = { kind = \"shell\", command = \"...\" }"),
        );
    }

    fn step(
        &mut self,
        id: String,
        span: Range<usize>,
        mut value: Spanned<DeValue<'_>>,
        defaults: &StepDefaults,
    ) -> Step {
        let owner = format!("step `{id}`");
        let mut step = Step {
            id,
            span,
            phase: defaults.phase.clone(),
            description: None,
            depends_on: Vec::new(),
            check: None,
            preconditions: Vec::new(),
            run: None,
            verify: Vec::new(),
            rollback: None,
            timeout: defaults.timeout,
            retry: defaults.retry,
            idempotent: defaults.idempotent,
            help: None,
            output_refs: Vec::new(),
        };
        if !value.get_ref().is_table() {
            self.diagnostics.push(
                Diagnostic::error("wrong-type", format!("{owner} must be a table"))
                    .at(value.span(), format!("found {}", value.get_ref().type_str()))
                    .help(format!("write it as a section: [steps.{}]", step.id)),
            );
            return step;
        }
        // Decoded on their own: each dependency, and each action or probe,
        // so that every error keeps its exact place and a bad one hides
        // none of the others. `StepFile` ignores them.
        let depends_on = take_key(&mut value, "depends_on");
        let retry = take_key(&mut value, "retry");
        let run = take_slot(&mut value, "run");
        let rollback = take_slot(&mut value, "rollback");
        let check = take_slot(&mut value, "check");
        let preconditions = take_list(&mut value, "preconditions");
        let verify = take_list(&mut value, "verify");
        let raw = table_decode::decode::<StepFile<IgnoredAny, IgnoredAny>>(value, &owner, &[], self.diagnostics);
        if let Some(depends_on) = depends_on {
            step.depends_on = self.dependencies(depends_on, &owner);
        }
        let context = format!("`retry` of {owner}");
        if let Some(retry) = retry.and_then(|r| self.retry(r, &context)) {
            step.retry = retry;
        }
        let diagnostics = &mut *self.diagnostics;
        step.run = run.and_then(|v| kind_field::decode::<Action>(v, "run", &owner, diagnostics));
        step.rollback = rollback.and_then(|v| kind_field::decode::<Action>(v, "rollback", &owner, diagnostics));
        step.check = check.and_then(|v| kind_field::decode::<Probe>(v, "check", &owner, diagnostics));
        step.preconditions = probe_list(preconditions, "preconditions", &owner, diagnostics);
        step.verify = probe_list(verify, "verify", &owner, diagnostics);
        let Some(raw) = raw.usable() else {
            return step;
        };
        if let Some(timeout) = raw.timeout.and_then(|t| self.timeout(&t)) {
            step.timeout = timeout;
        }
        if let Some(phase) = raw.phase {
            step.phase = phase;
        }
        step.description = raw.description;
        step.idempotent = raw.idempotent.unwrap_or(defaults.idempotent);
        step.help = raw.help;
        step
    }

    /// `depends_on`: every entry that is a string is kept (so that unknown
    /// ids are still found), every other one reported; a repeated one is a
    /// warning.
    fn dependencies(&mut self, value: Spanned<DeValue<'_>>, owner: &str) -> Vec<Spanned<String>> {
        let span = value.span();
        let items = match value.into_inner() {
            DeValue::Array(items) => items,
            other => {
                let value = Spanned::new(span, other);
                table_decode::decode::<Vec<IgnoredAny>>(value, owner, &[], self.diagnostics);
                return Vec::new();
            }
        };
        let mut dependencies: Vec<Spanned<String>> = Vec::with_capacity(items.len());
        for item in items {
            let span = item.span();
            match Spanned::<String>::deserialize(item.into_deserializer()) {
                Ok(dependency) => dependencies.push(dependency),
                Err(error) => self
                    .diagnostics
                    .push(crate::plan::decode_error::diagnostic(&error, span, owner, &[])),
            }
        }
        // A set only for long lists (a step waiting for thousands): most
        // have a few entries, where scanning those before is cheaper.
        let repeated: Vec<bool> = if dependencies.len() > 16 {
            let mut seen = HashSet::with_capacity(dependencies.len());
            dependencies
                .iter()
                .map(|dependency| !seen.insert(dependency.get_ref().as_str()))
                .collect()
        } else {
            (0..dependencies.len())
                .map(|i| {
                    dependencies[..i]
                        .iter()
                        .any(|d| d.get_ref() == dependencies[i].get_ref())
                })
                .collect()
        };
        let mut repeated = repeated.into_iter();
        dependencies.retain(|dependency| {
            if repeated.next() != Some(true) {
                return true;
            }
            self.diagnostics.push(
                Diagnostic::warning(
                    "duplicate-dependency",
                    format!("`{}` is listed twice in `depends_on` of {owner}", dependency.get_ref()),
                )
                .at(dependency.span(), "listed again here")
                .help("remove the repetition"),
            );
            false
        });
        dependencies
    }

    /// Reports `${secrets.X}` that are not declared; returns the used ones.
    fn check_secret_refs(&mut self, found: &[FoundRef], names: &[String]) -> BTreeSet<String> {
        let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut used = BTreeSet::new();
        for found in found {
            if let Reference::Secret(name) = &found.reference {
                if names.contains(name) {
                    used.insert(name.clone());
                } else {
                    let mut diagnostic =
                        Diagnostic::error("undefined-reference", format!("undefined secret `secrets.{name}`"))
                            .at(found.span.clone(), "not declared in [secrets]")
                            .help(
                                suggest::help(name, &candidates, "secret").unwrap_or_else(|| {
                                    format!("declare it: [secrets] {name} = {{ env = \"VARIABLE\" }}")
                                }),
                            );
                    if let Some(origin) = &found.origin {
                        diagnostic = diagnostic.in_file(origin.clone());
                    }
                    self.diagnostics.push(diagnostic);
                }
            }
        }
        used
    }
}

/// A valid id close to an invalid one: lowercased, other characters turned
/// into `-`. None for an id that is not ASCII (its letters would all be
/// lost) or that would leave no letter or digit.
fn id_suggestion(id: &str) -> Option<String> {
    if !id.is_ascii() {
        return None;
    }
    let suggestion: String = id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    let suggestion = suggestion.trim_matches(['-', '_']);
    suggestion
        .contains(|c: char| c.is_ascii_alphanumeric())
        .then(|| suggestion.to_string())
}

/// Takes the entries of a top-level table of tables (`steps`, `preflight`)
/// out of the root, leaving it empty. Anything but a table is left in
/// place, for the top level's decoding to report.
fn take_section<'i>(root: &mut DeTable<'i>, key: &str) -> DeTable<'i> {
    match root.get_mut(key).map(Spanned::get_mut) {
        Some(DeValue::Table(table)) => std::mem::take(table),
        _ => DeTable::new(),
    }
}

/// Takes `key` out of a table, when the value is one.
fn take_key<'v>(value: &mut Spanned<DeValue<'v>>, key: &str) -> Option<Spanned<DeValue<'v>>> {
    match value.get_mut() {
        DeValue::Table(table) => table.remove(key),
        _ => None,
    }
}

/// Takes an action or probe out of a table, leaving a placeholder that the
/// table's own decoding (which ignores its content) accepts.
fn take_slot<'v>(value: &mut Spanned<DeValue<'v>>, key: &str) -> Option<Spanned<DeValue<'v>>> {
    let DeValue::Table(table) = value.get_mut() else {
        return None;
    };
    table.get_mut(key).map(parse::take)
}

/// Takes a list of probes out of a table, leaving an empty list. Anything
/// but a list is left in place, for the table's decoding to report.
fn take_list<'v>(value: &mut Spanned<DeValue<'v>>, key: &str) -> Vec<Spanned<DeValue<'v>>> {
    let DeValue::Table(table) = value.get_mut() else {
        return Vec::new();
    };
    match table.get_mut(key).map(Spanned::get_mut) {
        Some(DeValue::Array(items)) => std::mem::replace(items, DeArray::new()).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn probe_list(
    items: Vec<Spanned<DeValue<'_>>>,
    key: &str,
    owner: &str,
    diagnostics: &mut Diagnostics,
) -> Vec<Spanned<Probe>> {
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| kind_field::decode::<Probe>(item, &format!("{key}[{i}]"), owner, diagnostics))
        .collect()
}

/// Vars and secrets exist only to be used; unused ones hint at a typo.
pub(crate) fn unused_warnings(analysis: &Analysis, diagnostics: &mut Diagnostics) {
    for (name, span) in &analysis.var_spans {
        if !analysis.used_vars.contains(name) {
            diagnostics.push(
                Diagnostic::warning("unused-var", format!("variable `{name}` is never used"))
                    .at(span.clone(), "declared here")
                    .help("remove it, or reference it as `${vars.".to_string() + name + "}`"),
            );
        }
    }
    for (name, span) in &analysis.secret_spans {
        if !analysis.used_secrets.contains(name) {
            diagnostics.push(
                Diagnostic::warning("unused-secret", format!("secret `{name}` is never used"))
                    .at(span.clone(), "declared here")
                    .help("remove it, or reference it as `${secrets.".to_string() + name + "}`"),
            );
        }
    }
}

/// Plan-shape warnings: steps without a rollback or without any effect.
pub(crate) fn step_warnings(plan: &Plan, diagnostics: &mut Diagnostics) {
    for step in &plan.steps {
        if let Some(run) = &step.run
            && run.get_ref().is_mutating()
            && !step.can_roll_back()
        {
            diagnostics.push(
                Diagnostic::warning(
                    "no-rollback",
                    format!("step `{}` changes things but has no `rollback`", step.id),
                )
                .at(
                    run.span(),
                    format!("`{}` is not undone by `planrun rollback`", run.get_ref().kind()),
                )
                .help("add `rollback = { kind = ... }`, or accept that rollback will skip this step"),
            );
        }
        if step.run.is_none() && step.probes().next().is_none() {
            diagnostics.push(
                Diagnostic::warning(
                    "empty-step",
                    format!("step `{}` has neither `run` nor any probe", step.id),
                )
                .at(step.span.clone(), "this step does nothing")
                .help("add `run`, `check`, `preconditions` or `verify`, or remove the step"),
            );
        }
    }
}
