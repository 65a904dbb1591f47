//! Loading and compiling the plan named on the command line, with its
//! `--var` and `--var-file` overrides.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use toml::de::{DeTable, DeValue};

use crate::cli::saved_plan::refuse_saved_plan;
use crate::compile::{Compiled, Failed, compile};
use crate::error::Error;
use crate::plan::Source;
use crate::plan::diagnostic::Diagnostic;
use crate::plan::vars::Override;
use crate::report::diagnostics::{self, Style};
use crate::state::RunRecord;

/// Arguments shared by every command that reads a plan.
#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The plan file (TOML)
    pub plan: PathBuf,
    /// Override a variable: --var NAME=VALUE (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variable overrides from a TOML file of NAME = VALUE lines (repeatable)
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// Treat warnings as errors
    #[arg(long)]
    pub deny_warnings: bool,
    /// Refuse the plan (exit 2) when a step is risky: nothing undoes it, it
    /// drops, truncates or removes recursively, it is a manual gate, or it
    /// is neither idempotent nor checked
    #[arg(long)]
    pub deny_risky: bool,
}

impl PlanArgs {
    /// `--deny-risky`: the risky steps of `compiled`, as an error.
    pub(crate) fn check_policy(&self, compiled: &Compiled) -> Result<(), Error> {
        if !self.deny_risky {
            return Ok(());
        }
        let lines: Vec<String> = crate::plan::risk::risky_steps(&compiled.plan, compiled.dag.order())
            .into_iter()
            .map(|(id, reasons)| format!("  - {id}: {reasons}"))
            .collect();
        if lines.is_empty() {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "`--deny-risky`: {} risky step(s):\n{}\nmake each safe (a `rollback`, a `check`, `idempotent = true`) or run without `--deny-risky`",
            lines.len(),
            lines.join("\n")
        )))
    }

    /// Compiles the plan; warnings are printed to stderr.
    pub(crate) fn compile(&self) -> Result<Compiled, Error> {
        let source = load_plan(&self.plan)?;
        compile_loud(&source, &self.overrides()?, self.deny_warnings)
    }

    pub(crate) fn compile_quietly(&self) -> Result<Compiled, Error> {
        let source = load_plan(&self.plan)?;
        compile(&source, &self.overrides()?, self.deny_warnings).map_err(Error::Invalid)
    }

    /// `--var-file`s in order, then `--var`s: later ones win.
    pub(crate) fn overrides(&self) -> Result<Vec<Override>, Error> {
        let mut overrides = Vec::new();
        for path in &self.var_files {
            overrides.extend(var_file(path)?);
        }
        for arg in &self.vars {
            overrides.push(Override::from_arg(arg).map_err(Error::Usage)?);
        }
        Ok(overrides)
    }
}

/// Reads the plan file at `path`; a saved plan (`.planrun`) is refused
/// with one message saying how to run it.
pub(crate) fn load_plan(path: &Path) -> Result<Source, Error> {
    let source = Source::load(path)?;
    refuse_saved_plan(&source)?;
    Ok(source)
}

/// Compiles `source`, printing warnings to stderr.
pub(crate) fn compile_loud(source: &Source, overrides: &[Override], deny_warnings: bool) -> Result<Compiled, Error> {
    let compiled = compile(source, overrides, deny_warnings).map_err(Error::Invalid)?;
    if !compiled.warnings.is_empty() {
        eprint!(
            "{}",
            diagnostics::render(source, &compiled.warnings, Style::for_stderr())
        );
    }
    Ok(compiled)
}

/// Overrides as stored with a run: name → value, the last one winning.
pub(crate) fn recorded(overrides: &[Override]) -> IndexMap<String, String> {
    overrides.iter().map(|o| (o.name.clone(), o.value.clone())).collect()
}

/// Overrides stored with a run, to compile the plan as it was applied.
pub(crate) fn replayed(recorded: &IndexMap<String, String>) -> Result<Vec<Override>, Error> {
    recorded
        .iter()
        .map(|(name, value)| Override::from_arg(&format!("{name}={value}")).map_err(Error::Usage))
        .collect()
}

/// Reads a `--var-file`: a flat TOML table of names to plain values.
fn var_file(path: &Path) -> Result<Vec<Override>, Error> {
    let source = Arc::new(Source::load(path)?);
    let text: &str = &source.text;
    let fail_all = |diagnostics: Vec<Diagnostic>| {
        Error::Invalid(Box::new(Failed {
            source: (*source).clone(),
            diagnostics,
        }))
    };
    let fail = |diagnostic: Diagnostic| fail_all(vec![diagnostic]);
    let table = DeTable::parse(text).map_err(|error| {
        let message = error.message().lines().next().unwrap_or("invalid TOML").to_string();
        fail(
            Diagnostic::error("toml-syntax", format!("TOML syntax error: {message}"))
                .at(error.span().unwrap_or(0..0), message)
                .help("a var file holds lines like `name = \"value\"`"),
        )
    })?;
    let mut out = Vec::new();
    // Every bad entry is reported, not only the first.
    let mut errors = Vec::new();
    for (key, value) in table.get_ref() {
        let text = match value.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(n) => n.to_string(),
            DeValue::Float(x) => x.to_string(),
            DeValue::Boolean(b) => b.to_string(),
            other => {
                errors.push(
                    Diagnostic::error(
                        "wrong-type",
                        format!("variable `{}` must be a plain value", key.get_ref()),
                    )
                    .at(value.span(), format!("found {}", other.type_str()))
                    .help("vars are strings, numbers or booleans"),
                );
                continue;
            }
        };
        out.push(Override {
            name: key.get_ref().to_string(),
            value: text,
            origin: source.clone(),
            name_span: key.span(),
            value_span: value.span(),
        });
    }
    if !errors.is_empty() {
        return Err(fail_all(errors));
    }
    Ok(out)
}

/// The `name` of a plan, read without compiling it (a run's recorded
/// overrides are needed to compile, and finding the run needs the name).
pub(crate) fn plan_name(source: &Source) -> Option<String> {
    let table = toml::de::DeTable::parse(&source.text).ok()?;
    table.get_ref().get("name")?.get_ref().as_str().map(str::to_string)
}

/// A plan file given for a run must be that run's plan (the same `name`).
pub(crate) fn same_plan(source: &Source, compiled: &Compiled, run: &RunRecord) -> Result<(), Error> {
    if compiled.plan.name == run.plan_name {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "`{}` is plan `{}`, but run `{}` is of plan `{}`",
        source.name, compiled.plan.name, run.id, run.plan_name
    )))
}
