//! A SQL script as planrun runs it: its statements, the transaction
//! control among them, and the units it commits one by one.
//!
//! - `transaction = true`: the whole script is one transaction that
//!   planrun opens and commits, so it can record the transaction's id
//!   before `COMMIT`. A script wrapped in its own `BEGIN … COMMIT` loses
//!   that wrapping; any other transaction control would end planrun's
//!   transaction early, and is refused before anything runs.
//! - `transaction = false`: each statement is a unit, and so is each
//!   `BEGIN … COMMIT` (or `… ROLLBACK`) block of the script, run in one
//!   transaction.
//! - Probes: transaction control is left out, so a verify script that
//!   says `COMMIT` still runs inside the probe's transaction, which is
//!   always rolled back.
//!
//! Two-phase commit and chained transactions are refused everywhere.

use super::sql::{leading_words, split_statements};

/// What a statement does to the transaction, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT` (not `ROLLBACK TO SAVEPOINT`).
    Rollback,
    /// `PREPARE TRANSACTION`, `COMMIT PREPARED`, `… AND CHAIN`.
    Unsupported,
}

/// The transaction control `statement` is, if it is one.
pub(super) fn control(statement: &str) -> Option<Control> {
    let words = leading_words(statement, 5);
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    // `COMMIT WORK AND NO CHAIN`: the optional noise word, then the rest.
    let rest = |from: usize| {
        let skip = usize::from(matches!(word(from), "WORK" | "TRANSACTION"));
        words[(from + skip).min(words.len())..].join(" ")
    };
    let plain = |rest: String, then: Control| match rest.as_str() {
        "" | "AND NO CHAIN" => Some(then),
        _ => Some(Control::Unsupported),
    };
    match word(0) {
        "BEGIN" => Some(Control::Begin),
        "START" if word(1) == "TRANSACTION" => Some(Control::Begin),
        "PREPARE" if word(1) == "TRANSACTION" => Some(Control::Unsupported),
        "COMMIT" | "END" => plain(rest(1), Control::Commit),
        "ROLLBACK" | "ABORT" if rest(1).starts_with("TO") => None,
        "ROLLBACK" | "ABORT" => plain(rest(1), Control::Rollback),
        _ => None,
    }
}

/// How a unit ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Commit,
    /// A block of the script that ends in `ROLLBACK`: run, then undone.
    Rollback,
}

/// Statements committed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unit {
    /// Without the block's own `BEGIN` and `COMMIT`.
    pub statements: Vec<String>,
    /// 1-based numbers of its first and last statements in the script.
    pub first: usize,
    pub last: usize,
    /// A `BEGIN … COMMIT` block of the script (else one statement).
    pub block: bool,
    pub end: End,
}

impl Unit {
    pub(crate) fn sql(&self) -> String {
        self.statements.join(";\n")
    }

    /// "statement 3" or "statements 3–7".
    pub(crate) fn name(&self) -> String {
        if self.first == self.last {
            format!("statement {}", self.first)
        } else {
            format!("statements {}–{}", self.first, self.last)
        }
    }
}

fn unsupported(number: usize, statement: &str) -> String {
    format!(
        "statement {number} (`{}`) is two-phase commit or a chained transaction, which planrun does not run",
        leading_words(statement, 3).join(" ")
    )
}

/// The units of a script run with `transaction = false`.
pub(super) fn units(script: &str) -> Result<Vec<Unit>, String> {
    let mut units = Vec::new();
    let mut open: Option<Unit> = None;
    for (index, statement) in split_statements(script).into_iter().enumerate() {
        let number = index + 1;
        match (control(&statement), open.as_mut()) {
            (Some(Control::Unsupported), _) => return Err(unsupported(number, &statement)),
            (Some(Control::Begin), None) => {
                open = Some(Unit {
                    statements: Vec::new(),
                    first: number,
                    last: number,
                    block: true,
                    end: End::Commit,
                });
            }
            (Some(Control::Begin), Some(unit)) => {
                return Err(format!(
                    "statement {number} begins a transaction inside the one begun at statement {}",
                    unit.first
                ));
            }
            (Some(end @ (Control::Commit | Control::Rollback)), Some(_)) => {
                if let Some(mut unit) = open.take() {
                    unit.last = number;
                    unit.end = if end == Control::Commit {
                        End::Commit
                    } else {
                        End::Rollback
                    };
                    units.push(unit);
                }
            }
            (Some(_), None) => {
                return Err(format!("statement {number} ends a transaction, but none is open there"));
            }
            (None, Some(unit)) => {
                unit.statements.push(statement);
                unit.last = number;
            }
            (None, None) => units.push(Unit {
                statements: vec![statement],
                first: number,
                last: number,
                block: false,
                end: End::Commit,
            }),
        }
    }
    if let Some(unit) = open {
        return Err(format!("the transaction begun at statement {} never ends", unit.first));
    }
    units.retain(|unit| !unit.statements.is_empty());
    Ok(units)
}

/// The script to run in planrun's one transaction (`transaction = true`):
/// `None` when it has no transaction control (run as written), else its
/// statements without the `BEGIN … COMMIT` that wraps them.
pub(super) fn single_transaction(script: &str) -> Result<Option<String>, String> {
    let statements = split_statements(script);
    let controls: Vec<(usize, Control)> = statements
        .iter()
        .enumerate()
        .filter_map(|(i, s)| control(s).map(|c| (i, c)))
        .collect();
    let last = statements.len().saturating_sub(1);
    if let [(0, Control::Begin), (end, Control::Commit)] = controls.as_slice()
        && *end == last
    {
        return Ok(Some(statements[1..last].join(";\n")));
    }
    let Some(&(at, kind)) = controls
        .iter()
        .find(|(at, kind)| !(*at == 0 && *kind == Control::Begin))
        .or(controls.first())
    else {
        return Ok(None);
    };
    if kind == Control::Unsupported {
        return Err(unsupported(at + 1, &statements[at]));
    }
    Err(format!(
        "statement {} (`{}`) controls the transaction, but with `transaction = true` planrun runs the whole script \
         in one transaction of its own",
        at + 1,
        leading_words(&statements[at], 2).join(" ")
    ))
}

/// The statements of a probe's script, without transaction control.
pub(super) fn without_control(script: &str) -> Result<Vec<String>, String> {
    let mut kept = Vec::new();
    for (index, statement) in split_statements(script).into_iter().enumerate() {
        match control(&statement) {
            None => kept.push(statement),
            Some(Control::Unsupported) => return Err(unsupported(index + 1, &statement)),
            Some(_) => {}
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_recognised() {
        assert_eq!(control("begin"), Some(Control::Begin));
        assert_eq!(
            control("START TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            Some(Control::Begin)
        );
        assert_eq!(control("-- done\nCOMMIT WORK"), Some(Control::Commit));
        assert_eq!(control("end"), Some(Control::Commit));
        assert_eq!(control("ABORT"), Some(Control::Rollback));
        assert_eq!(control("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(control("rollback transaction to a"), None);
        assert_eq!(control("COMMIT AND CHAIN"), Some(Control::Unsupported));
        assert_eq!(control("COMMIT PREPARED 'x'"), Some(Control::Unsupported));
        assert_eq!(control("PREPARE TRANSACTION 'x'"), Some(Control::Unsupported));
        assert_eq!(control("PREPARE q AS SELECT 1"), None);
        assert_eq!(control("SELECT 1"), None);
        assert_eq!(control("ending_soon()"), None);
    }

    #[test]
    fn blocks_are_units_and_other_statements_stand_alone() {
        let units = units("CREATE TABLE a (x int); BEGIN; INSERT INTO a VALUES (1); INSERT INTO a VALUES (2); COMMIT; VACUUM a; BEGIN; DELETE FROM a; ROLLBACK;").expect("units");
        assert_eq!(units.len(), 4);
        assert_eq!(units[0].name(), "statement 1");
        assert_eq!(units[1].name(), "statements 2–5");
        assert_eq!(units[1].sql(), "INSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2)");
        assert!(units[1].block && !units[2].block);
        assert_eq!(units[3].end, End::Rollback);
    }

    #[test]
    fn unbalanced_blocks_are_refused() {
        assert!(units("BEGIN; SELECT 1").expect_err("refused").contains("never ends"));
        assert!(units("SELECT 1; COMMIT").expect_err("refused").contains("none is open"));
        assert!(units("BEGIN; BEGIN; COMMIT").expect_err("refused").contains("inside"));
        assert!(units("COMMIT PREPARED 'a'").expect_err("refused").contains("two-phase"));
    }

    #[test]
    fn one_transaction_unwraps_or_refuses() {
        assert_eq!(single_transaction("SELECT 1; SELECT 2"), Ok(None));
        assert_eq!(
            single_transaction("BEGIN; SELECT 1; SELECT 2; COMMIT;"),
            Ok(Some("SELECT 1;\nSELECT 2".into()))
        );
        let early = single_transaction("SELECT 1; COMMIT; SELECT 2").expect_err("refused");
        assert!(early.contains("statement 2 (`COMMIT`)"), "{early}");
        assert!(single_transaction("BEGIN; SELECT 1; ROLLBACK").is_err());
    }

    #[test]
    fn probes_drop_transaction_control() {
        assert_eq!(
            without_control("BEGIN; SELECT 1; ROLLBACK TO SAVEPOINT s; COMMIT; ROLLBACK"),
            Ok(vec!["SELECT 1".to_string(), "ROLLBACK TO SAVEPOINT s".into()])
        );
        assert!(without_control("PREPARE TRANSACTION 'x'").is_err());
    }
}
