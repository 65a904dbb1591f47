//! Risky steps, as a reviewer wants them flagged: a step that changes things
//! nothing undoes, a destructive kind, SQL or shell that drops, truncates or
//! removes recursively, a manual gate, a step that is neither idempotent nor
//! checked (a crash leaves it to an operator). Previews show the flags;
//! `--deny-risky` makes them errors, for policy gates.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::plan::{Plan, Step};

/// Why a step is risky.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Risk {
    /// It changes things, and neither a `rollback` nor its kind undoes them.
    NoRollback,
    /// Its kind destroys by design (`postgres.drop_database`).
    DestructiveKind,
    /// Its SQL or shell drops, truncates or removes recursively.
    Destroys,
    /// A person decides it (a manual gate).
    ManualGate,
    /// Neither idempotent nor checked, nor able to tell whether an
    /// interrupted attempt took effect: after a crash an operator decides.
    NotRerunnable,
}

impl Risk {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Risk::NoRollback => "nothing undoes it",
            Risk::DestructiveKind => "destructive kind",
            Risk::Destroys => "drops, truncates or removes recursively",
            Risk::ManualGate => "manual gate",
            Risk::NotRerunnable => "neither idempotent nor checked",
        }
    }
}

const DESTRUCTIVE_KINDS: &[&str] = &["postgres.drop_database"];

/// `DROP TABLE|DATABASE|SCHEMA|COLUMN|CONSTRAINT|...`, `TRUNCATE`, `DELETE
/// FROM` without `WHERE`; `rm` with `-r`, `-R` or `--recursive` among its
/// options (`rm -v -rf`, `rm -f -r`), `find ... -delete`, `docker volume
/// rm`, `dropdb`. A command's end (`;`, `&`, `|`, a line break) ends what
/// `rm` and `find` read, so `rm -f x; ls -r` is not a recursive `rm`.
static DESTROYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
          \bdrop\s+(table|database|schema|owned|index|view|materialized\s+view|sequence|type|extension|role|user|column|constraint)\b
        | \btruncate\b
        | \bdelete\s+from\s+[\w.\x22]+\s*(;|$|\x22)
        | (^|[\s;&|(/\x22'`])rm(\s+[^\s;&|]+)*?\s+(-[a-z]*r[a-z]*|--recursive)\b
        | \bfind\s[^;&|\n]*\s-delete\b
        | \bdocker(-compose)?\s+(volume\s+rm|volume\s+prune|system\s+prune|down\s+(-v|--volumes))
        | \bdropdb\b
        | \bflushall\b",
    )
    .unwrap_or_else(|error| panic!("the pattern is valid: {error}"))
});

/// The risks of each step, by plan index (empty: not risky).
pub(crate) fn assess(plan: &Plan) -> Vec<Vec<Risk>> {
    plan.steps.iter().map(step_risks).collect()
}

/// The risky steps in `order` (indices, e.g. the execution order), each
/// with its reasons joined by `; `: what previews list and `--deny-risky`
/// refuses.
pub(crate) fn risky_steps<'a>(plan: &'a Plan, order: &[usize]) -> Vec<(&'a str, String)> {
    let risks = assess(plan);
    order
        .iter()
        .filter(|&&i| !risks[i].is_empty())
        .map(|&i| {
            let reasons: Vec<&str> = risks[i].iter().map(|risk| risk.text()).collect();
            (plan.steps[i].id.as_str(), reasons.join("; "))
        })
        .collect()
}

fn step_risks(step: &Step) -> Vec<Risk> {
    let Some(run) = step.run.as_ref().map(toml::Spanned::get_ref) else {
        return Vec::new();
    };
    let mut risks = Vec::new();
    if run.gate().is_some() {
        risks.push(Risk::ManualGate);
        return risks;
    }
    let mutating = run.is_mutating();
    if mutating && step.rollback.is_none() && !run.has_builtin_undo() {
        risks.push(Risk::NoRollback);
    }
    if DESTRUCTIVE_KINDS.contains(&run.kind()) {
        risks.push(Risk::DestructiveKind);
    }
    if strings(&serde_json::to_value(run).unwrap_or_default())
        .iter()
        .any(|text| DESTROYS.is_match(text))
    {
        risks.push(Risk::Destroys);
    }
    // A kind that can ask the system whether an interrupted attempt took
    // effect needs no operator after a crash.
    if mutating && !step.idempotent && step.check.is_none() && !run.settles_its_effect() {
        risks.push(Risk::NotRerunnable);
    }
    risks
}

/// Every string inside a JSON value (commands, SQL, arguments); a list of
/// strings (an `argv`) as one, joined by spaces, so `["rm", "-rf", "d"]`
/// reads as the command it runs.
fn strings(value: &serde_json::Value) -> Vec<Cow<'_, str>> {
    match value {
        serde_json::Value::String(text) => vec![Cow::Borrowed(text.as_str())],
        serde_json::Value::Array(items) => {
            match items.iter().map(serde_json::Value::as_str).collect::<Option<Vec<_>>>() {
                Some(words) => vec![Cow::Owned(words.join(" "))],
                None => items.iter().flat_map(strings).collect(),
            }
        }
        serde_json::Value::Object(fields) => fields.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Source;
    use crate::plan::analyzer::analyze;

    fn risks_of(steps: &str) -> Vec<Vec<Risk>> {
        let text = format!("format = 1\nname = 'r'\n{steps}");
        let (Some(analysis), _) = analyze(&Source::new("r.toml", text), &[]) else {
            panic!("the plan is read");
        };
        assess(&analysis.plan)
    }

    #[test]
    fn each_kind_of_risk_is_flagged_and_a_safe_step_is_not() {
        let risks = risks_of(
            "[steps.safe]\ncheck = { kind = 'file.exists', path = 'x' }\nrun = { kind = 'file.write', path = 'x', content = 'y' }\n\
             [steps.bare]\nrun = { kind = 'shell', command = 'make deploy' }\n\
             [steps.drop]\nidempotent = true\nrun = { kind = 'shell', command = 'psql -c \"DROP TABLE users\"' }\nrollback = { kind = 'shell', command = 'true' }\n\
             [steps.wipe]\nidempotent = true\nrun = { kind = 'shell', command = 'rm -rf /var/lib/app' }\nrollback = { kind = 'shell', command = 'true' }\n\
             [steps.gate]\nrun = { kind = 'manual', instructions = 'check the dashboards' }\n",
        );
        assert_eq!(risks[0], []);
        assert_eq!(risks[1], [Risk::NoRollback, Risk::NotRerunnable]);
        assert_eq!(risks[2], [Risk::Destroys]);
        assert_eq!(risks[3], [Risk::Destroys]);
        assert_eq!(risks[4], [Risk::ManualGate]);
    }

    /// Regression: an `argv` was matched word by word, and `DROP COLUMN`,
    /// `rm -v -rf` and `find -delete` were not flagged.
    #[test]
    fn an_argv_is_read_as_one_command_and_sql_that_drops_a_column_is_flagged() {
        let step = |name: &str, run: &str| {
            format!(
                "[steps.{name}]\nidempotent = true\nrun = {run}\nrollback = {{ kind = 'shell', command = 'true' }}\n"
            )
        };
        let risks = risks_of(
            &[
                step("argv", "{ kind = 'shell', argv = ['rm', '-rf', 'dir'] }"),
                step("options", "{ kind = 'shell', argv = ['rm', '-v', '-rf', '/data'] }"),
                step("find", "{ kind = 'shell', argv = ['find', '/data', '-delete'] }"),
                step("column", "{ kind = 'postgres.exec', url = 'postgres://db/app', sql = 'ALTER TABLE users DROP COLUMN email' }"),
                step("file", "{ kind = 'shell', argv = ['rm', 'file.txt'] }"),
                step("echo", "{ kind = 'shell', argv = ['echo', 'rm', '-f', 'x'] }"),
            ]
            .concat(),
        );
        for (n, name) in ["argv", "options", "find", "column"].iter().enumerate() {
            assert_eq!(risks[n], [Risk::Destroys], "{name}");
        }
        assert_eq!(risks[4], [], "a plain `rm file.txt`");
        assert_eq!(risks[5], []);
    }

    #[test]
    fn the_pattern_knows_destruction_from_its_look_alikes() {
        for text in [
            "DROP TABLE users",
            "drop database x",
            "DROP DATABASE IF EXISTS app",
            "DROP SCHEMA app CASCADE",
            "DROP INDEX users_email_idx",
            "DROP VIEW active_users",
            "ALTER TABLE users DROP COLUMN email",
            "alter table users drop constraint users_email_key",
            "TRUNCATE ledger",
            "rm -rf dir",
            "rm -fr dir",
            "rm -r dir",
            "rm -Rf dir",
            "rm --recursive d",
            "rm -v -rf /data",
            "rm -r -f /data",
            "rm -f -r /data",
            "rm --verbose --recursive /data",
            "sudo /bin/rm -rf /data",
            "sh -c 'rm -rf /data'",
            "cd /srv && rm -rf old",
            "find /data -delete",
            "find /data -name '*.log' -mtime +7 -delete",
            "docker volume rm v",
            "docker-compose down -v",
            "DELETE FROM users;",
        ] {
            assert!(DESTROYS.is_match(text), "{text}");
        }
        for text in [
            "dropped_at",
            "ALTER TABLE users ADD COLUMN dropped_at timestamptz",
            "rm file.txt",
            "rm -f file",
            "rm -i a b",
            "rm -f x; ls -r",
            "rm -f a && grep -r b .",
            "rm -f a | sort -r",
            "grep -r rm .",
            "docker run --rm app ls -r",
            "find /data -name x -print",
            "DELETE FROM users WHERE id = 1;",
            "backdrop table",
            "drop_shadow",
        ] {
            assert!(!DESTROYS.is_match(text), "{text}");
        }
    }
}
