//! Settling an interrupted file edit by content hashes. Before it writes,
//! an edit records, per file, the SHA-256 of the content before the step
//! (kept in its undo record since the first attempt) and of the content
//! it writes. Afterwards the file's hash tells: the content written → it
//! took effect; the content before → nothing happened; anything else →
//! something else changed the file, and settling says so.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::steps::context::StepContext;
use crate::steps::outcome::{Applied, Settlement, StepError, Verdict, saved_evidence, saved_undo, which_attempt};

pub(super) fn sha(bytes: impl AsRef<[u8]>) -> String {
    crate::digest::hex(&Sha256::digest(bytes.as_ref()))
}

/// The hash of a file's bytes, `None` when it does not exist.
fn file_sha(path: &Path) -> Result<Option<String>, StepError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(sha(bytes))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(StepError::failed(format!("cannot read `{}`: {error}", path.display()))),
    }
}

fn shown(hash: Option<&str>) -> String {
    hash.map_or_else(
        || "absent".into(),
        |hash| format!("sha256 {}…", hash.chars().take(12).collect::<String>()),
    )
}

/// One file an edit writes: its hash before the step (`None`: absent)
/// and the hash of what this attempt writes.
pub(super) struct Target {
    pub path: String,
    pub before: Option<String>,
    pub after: String,
}

/// The evidence fields of an edit: its files, and `definition`, a hash of
/// what the step asks for (so a step changed since is not settled by the
/// evidence of its old self).
pub(super) fn fields(targets: &[Target], definition: &str) -> Value {
    let files: Vec<Value> = targets
        .iter()
        .map(|t| json!({ "path": t.path, "before": t.before, "after": t.after }))
        .collect();
    json!({ "files": files, "definition": definition })
}

/// The question settling asks about `paths`.
pub(super) fn ask(paths: &[String]) -> String {
    let names: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
    let verb = if names.len() == 1 { "holds" } else { "hold" };
    format!(
        "whether {} {verb} what the step writes (content hashes)",
        names.join(", ")
    )
}

/// `after` hashes an earlier attempt recorded, by path: a file found
/// with that hash was already edited by it.
pub(super) fn written_before(ctx: &StepContext) -> HashMap<String, String> {
    let Some(evidence) = saved_evidence(ctx) else {
        return HashMap::new();
    };
    evidence["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|file| Some((file["path"].as_str()?.to_string(), file["after"].as_str()?.to_string())))
        .collect()
}

/// Settles an edit whose step asks for `definition` (see [`fields`]).
pub(super) fn settle_files(ctx: &StepContext, definition: &str) -> Result<Settlement, StepError> {
    let Some(evidence) = saved_evidence(ctx) else {
        return Ok(Settlement::no_evidence());
    };
    let files = evidence["files"].as_array().cloned().unwrap_or_default();
    let paths: Vec<String> = files
        .iter()
        .filter_map(|f| f["path"].as_str().map(String::from))
        .collect();
    let asked = format!("{} (recorded by {})", ask(&paths), which_attempt(ctx, &evidence));
    if evidence["definition"].as_str() != Some(definition) {
        return Ok(Settlement::new(
            asked,
            "the step changed since that attempt: its record does not describe it",
            Verdict::Unknown,
        ));
    }
    let (mut written, mut untouched, mut found) = (0, 0, Vec::new());
    let mut other = false;
    for file in &files {
        let path = file["path"].as_str().unwrap_or_default();
        let (before, after) = (file["before"].as_str(), file["after"].as_str());
        let now = file_sha(Path::new(path))?;
        let is_after = now.as_deref() == after;
        let is_before = now.as_deref() == before;
        written += usize::from(is_after);
        untouched += usize::from(is_before);
        let state = match (is_after, is_before) {
            (true, _) => "is as written".to_string(),
            (false, true) => "is as before the step".to_string(),
            (false, false) => {
                other = true;
                format!(
                    "is {}, neither as before the step ({}) nor as written ({}): something else changed it",
                    shown(now.as_deref()),
                    shown(before),
                    shown(after)
                )
            }
        };
        found.push(format!("`{path}` {state}"));
    }
    let verdict = if other {
        Verdict::Unknown
    } else if written == files.len() {
        Verdict::Done(Applied {
            undo: saved_undo(ctx),
            ..Applied::default()
        })
    } else if untouched == files.len() {
        Verdict::Nothing
    } else {
        Verdict::Partly
    };
    Ok(Settlement::new(asked, found.join("; "), verdict))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::redact::Redactor;
    use crate::steps::context::Progress;
    use crate::steps::log::StepLog;

    /// A context whose saved progress holds `evidence` for files in `dir`.
    fn context(dir: &Path, evidence: Value, attempt: u32) -> StepContext {
        StepContext {
            run_id: "run".into(),
            step_id: "step".into(),
            work_dir: dir.to_path_buf(),
            log: Arc::new(StepLog::discard(Arc::new(Redactor::default()))),
            cancel: CancellationToken::new(),
            stop_now: CancellationToken::new(),
            kill_grace: std::time::Duration::from_secs(1),
            timeout: std::time::Duration::from_secs(1),
            outputs_path: None,
            progress: Progress {
                sink: None,
                step_id: "step".into(),
                saved: Arc::new(Mutex::new(Some(
                    json!({ "evidence": evidence, "undo": { "files": [] } }),
                ))),
                attempt,
                recorded: Arc::default(),
            },
            recorded_process: None,
            concurrent: false,
        }
    }

    fn evidence_for(dir: &Path, files: &[(&str, &str, &str)]) -> Value {
        let targets: Vec<Target> = files
            .iter()
            .map(|(name, before, after)| Target {
                path: dir.join(name).display().to_string(),
                before: Some(sha(before)),
                after: sha(after),
            })
            .collect();
        let mut fields = fields(&targets, "definition");
        fields["attempt"] = json!(1);
        fields
    }

    fn verdict(dir: &Path, on_disk: &[(&str, &str)], evidence: Value) -> Settlement {
        for (name, text) in on_disk {
            std::fs::write(dir.join(name), text).expect("write");
        }
        settle_files(&context(dir, evidence, 2), "definition").expect("settled")
    }

    #[test]
    fn hashes_tell_done_nothing_partly_and_foreign_changes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dir = dir.path();
        let both = evidence_for(dir, &[("a", "old", "new"), ("b", "old", "new")]);
        let done = verdict(dir, &[("a", "new"), ("b", "new")], both.clone());
        assert!(matches!(done.verdict, Verdict::Done(_)), "{done:?}");
        assert!(
            done.asked.contains("(attempt 2 stopped before its first change)"),
            "{}",
            done.asked
        );
        let nothing = verdict(dir, &[("a", "old"), ("b", "old")], both.clone());
        assert_eq!(nothing.verdict, Verdict::Nothing);
        let partly = verdict(dir, &[("a", "new"), ("b", "old")], both.clone());
        assert_eq!(partly.verdict, Verdict::Partly);
        let foreign = verdict(dir, &[("a", "new"), ("b", "edited by hand")], both);
        assert_eq!(foreign.verdict, Verdict::Unknown);
        assert!(foreign.found.contains("something else changed it"), "{}", foreign.found);
    }

    #[test]
    fn a_changed_step_is_not_settled_by_its_old_evidence() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut evidence = evidence_for(dir.path(), &[("a", "old", "new")]);
        evidence["definition"] = json!("another");
        let settled = verdict(dir.path(), &[("a", "new")], evidence);
        assert_eq!(settled.verdict, Verdict::Unknown);
    }
}
