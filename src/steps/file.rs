//! File probes and edits: exists, contains, write, replace text, ensure lines.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::KindSpec;

/// Passes when the path exists (and, with `non_empty`, is not empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileExists {
    pub path: String,
    /// Also require a size above zero.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_empty: bool,
}

impl KindSpec for FileExists {
    fn summary(&self) -> String {
        let what = if self.non_empty {
            "exists and is not empty"
        } else {
            "exists"
        };
        format!("{} {what}", self.path)
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("path", &self.path);
    }
}

/// Passes when the file contains `text` (or a match of `regex`); with
/// `negate`, when it does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileContains {
    pub path: String,
    /// Literal text to look for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Regular expression to look for (Rust `regex` syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Pass when the text is absent instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
}

impl KindSpec for FileContains {
    fn summary(&self) -> String {
        let needle = match (&self.text, &self.regex) {
            (Some(text), _) => format!("{text:?}"),
            (None, Some(regex)) => format!("/{regex}/"),
            (None, None) => String::new(),
        };
        let verb = if self.negate { "does not contain" } else { "contains" };
        format!("{} {verb} {needle}", self.path)
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("path", &self.path);
        check.exactly_one(&[("text", self.text.is_some()), ("regex", self.regex.is_some())]);
        if let Some(regex) = &self.regex {
            check.regex("regex", regex);
        }
    }
}

/// Writes `content` to `path`, creating parent directories. Undone by
/// restoring the previous content (or removing a file that did not exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileWrite {
    pub path: String,
    pub content: String,
    /// Unix permissions in octal, like `"0644"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

impl FileWrite {
    pub(crate) fn mode_bits(&self) -> Option<u32> {
        self.mode
            .as_deref()
            .and_then(|mode| u32::from_str_radix(mode.trim_start_matches("0o"), 8).ok())
    }
}

impl KindSpec for FileWrite {
    fn summary(&self) -> String {
        format!("write {} ({} bytes)", self.path, self.content.len())
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("path", &self.path);
        if self.mode.is_some() && self.mode_bits().is_none_or(|bits| bits > 0o7777) {
            check.error("mode", "`mode` is not an octal permission", "write it like \"0644\"");
        }
    }
}

/// Replaces every occurrence of `search` by `replace` in each file. Each
/// file must contain `search`, unless it already contains `replace` (the
/// edit was made before), so the step is safe to run again. Undone by
/// putting `search` back exactly where it was replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileReplace {
    /// Files to edit.
    pub paths: Vec<String>,
    /// Literal text to find.
    pub search: String,
    /// Text to put in its place.
    pub replace: String,
}

impl KindSpec for FileReplace {
    fn summary(&self) -> String {
        format!(
            "replace {:?} with {:?} in {}",
            self.search,
            self.replace,
            self.paths.join(", ")
        )
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        if self.paths.is_empty() {
            check.error("paths", "`paths` is empty", "list the files to edit");
        }
        if self.search.is_empty() {
            check.error("search", "`search` is empty", "give the exact text to replace");
        }
        if self.search == self.replace {
            check.error(
                "replace",
                "`replace` is the same as `search`",
                "this edit would change nothing",
            );
        }
    }
}

/// Ensures each line is present in the file, appending the missing ones
/// (Ansible's `lineinfile`); a line `KEY=value` replaces an existing
/// `KEY=...` line. Undone by restoring the lines it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLines {
    pub path: String,
    pub lines: Vec<String>,
}

impl KindSpec for FileLines {
    fn summary(&self) -> String {
        let keys: Vec<&str> = self
            .lines
            .iter()
            .map(|line| line.split_once('=').map_or(line.as_str(), |(key, _)| key))
            .collect();
        format!(
            "ensure {} line(s) in {}: {}",
            self.lines.len(),
            self.path,
            keys.join(", ")
        )
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("path", &self.path);
        if self.lines.is_empty() {
            check.error("lines", "`lines` is empty", "list the lines the file must contain");
        }
        if self.lines.iter().any(|line| line.contains('\n')) {
            check.error(
                "lines",
                "a line in `lines` contains a newline",
                "give each line as its own string",
            );
        }
    }
}

mod settle;

mod behaviour {
    //! File probes and edits. Each edit saves its undo record as progress
    //! *before* touching the file, so an edit interrupted half-way and run
    //! again still knows what the file held before the first attempt; and,
    //! in the same write, the content hashes that settle it after a crash
    //! (see `settle`).

    use std::path::Path;

    use serde_json::{Value, json};

    use super::settle::{Target, ask, fields, settle_files, sha, written_before};
    use super::{FileContains, FileExists, FileLines, FileReplace, FileWrite};
    use crate::failpoint;
    use crate::steps::context::StepContext;
    use crate::steps::outcome::{Applied, Settlement, StepError, evidence, save_undo, saved_undo};
    use crate::steps::{ActionKind, ProbeKind};

    fn read(path: &Path) -> Result<Option<String>, StepError> {
        match std::fs::read(path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StepError::failed(format!("`{}` is not a UTF-8 text file", path.display()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StepError::failed(format!("cannot read `{}`: {error}", path.display()))),
        }
    }

    /// Writes through a temporary file and a rename, so a crash never
    /// leaves a half-written file; keeps the permissions of the original.
    fn write_atomically(path: &Path, content: &str, mode: Option<u32>) -> Result<(), StepError> {
        use std::os::unix::fs::PermissionsExt;
        let fail = |error: std::io::Error| StepError::failed(format!("cannot write `{}`: {error}", path.display()));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = path.with_file_name(format!(".{file_name}.planrun-{}", std::process::id()));
        let previous_mode = std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777);
        std::fs::write(&temporary, content).map_err(fail)?;
        if let Some(mode) = mode.or(previous_mode) {
            std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode)).map_err(fail)?;
        }
        std::fs::rename(&temporary, path).map_err(|error| {
            let _ = std::fs::remove_file(&temporary);
            fail(error)
        })
    }

    fn remove(path: &Path) -> Result<(), StepError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StepError::failed(format!(
                "cannot remove `{}`: {error}",
                path.display()
            ))),
        }
    }

    /// The undo record saved by an earlier attempt, or `make()`; `true`
    /// when it is new and still to be saved.
    fn undo_record(
        ctx: &StepContext,
        make: impl FnOnce() -> Result<Value, StepError>,
    ) -> Result<(Value, bool), StepError> {
        match saved_undo(ctx) {
            Some(saved) => Ok((saved, false)),
            None => Ok((make()?, true)),
        }
    }

    /// Durably records the evidence of this attempt's writes, with the
    /// undo record when it is new, in one write, before any file changes.
    async fn record(
        ctx: &StepContext,
        targets: &[Target],
        definition: &str,
        undo: Option<&Value>,
    ) -> Result<(), StepError> {
        let paths: Vec<String> = targets.iter().map(|t| t.path.clone()).collect();
        let mut entries = vec![("evidence", evidence(ctx, &ask(&paths), fields(targets, definition)))];
        if let Some(undo) = undo {
            entries.push(("undo", undo.clone()));
        }
        ctx.progress.save_entries(entries).await.map_err(StepError::failed)
    }

    /// What a step that writes `content` asks for.
    fn write_definition(content: &str) -> String {
        sha(content)
    }

    fn replace_definition(search: &str, replace: &str) -> String {
        sha(format!("{search}\0{replace}"))
    }

    fn lines_definition(lines: &[String]) -> String {
        sha(lines.join("\n"))
    }

    /// Whether `path` still holds the content hashed as `before` (so an
    /// edit interrupted before writing left nothing to undo).
    fn unchanged(before: &Value, text: Option<&str>) -> bool {
        match before {
            Value::String(hash) => text.is_some_and(|text| sha(text) == *hash),
            Value::Null => text.is_none(),
            _ => false,
        }
    }

    fn undo_mismatch(path: &Path) -> StepError {
        StepError::failed(format!(
            "`{}` changed since planrun edited it; restore it by hand",
            path.display()
        ))
    }

    impl ProbeKind for FileExists {
        async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
            let path = ctx.path(&self.path);
            match std::fs::metadata(&path) {
                Ok(meta) if self.non_empty && meta.len() == 0 => {
                    Err(StepError::failed(format!("`{}` is empty", path.display())))
                }
                Ok(_) => Ok(()),
                Err(_) => Err(StepError::failed(format!("`{}` does not exist", path.display()))),
            }
        }
    }

    impl ProbeKind for FileContains {
        async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
            let path = ctx.path(&self.path);
            let text = read(&path)?.ok_or_else(|| StepError::failed(format!("`{}` does not exist", path.display())))?;
            let (found, what) = match (&self.text, &self.regex) {
                (Some(needle), _) => (text.contains(needle.as_str()), format!("{needle:?}")),
                (None, Some(pattern)) => {
                    let regex = regex::Regex::new(pattern).map_err(|e| StepError::failed(e.to_string()))?;
                    (regex.is_match(&text), format!("/{pattern}/"))
                }
                (None, None) => return Err(StepError::failed("nothing to look for")),
            };
            match (found, self.negate) {
                (true, false) | (false, true) => Ok(()),
                (false, false) => Err(StepError::failed(format!(
                    "`{}` does not contain {what}",
                    path.display()
                ))),
                (true, true) => Err(StepError::failed(format!("`{}` contains {what}", path.display()))),
            }
        }
    }

    impl ActionKind for FileWrite {
        async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
            let path = ctx.path(&self.path);
            let (undo, new) = undo_record(ctx, || {
                let previous = read(&path)?;
                let before = previous.as_deref().map(sha);
                Ok(match previous {
                    None => json!({ "existed": false, "sha256": before }),
                    Some(text) if ctx.log.redactor().reveals(&text) => {
                        json!({ "existed": true, "withheld": true, "sha256": before })
                    }
                    Some(text) => json!({ "existed": true, "content": text, "sha256": before }),
                })
            })?;
            let target = Target {
                path: path.display().to_string(),
                before: undo["sha256"].as_str().map(String::from),
                after: sha(&self.content),
            };
            record(ctx, &[target], &write_definition(&self.content), new.then_some(&undo)).await?;
            failpoint::hit("file.write:recorded");
            write_atomically(&path, &self.content, self.mode_bits())?;
            failpoint::hit("file.write:written");
            ctx.log
                .line(&format!("wrote {} bytes to {}", self.content.len(), path.display()));
            Ok(Applied {
                undo: Some(undo),
                ..Applied::default()
            })
        }

        fn has_builtin_undo(&self) -> bool {
            true
        }

        async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
            let path = ctx.path(&self.path);
            if record["existed"] == json!(false) {
                ctx.log
                    .line(&format!("removing {} (planrun created it)", path.display()));
                return remove(&path);
            }
            let Some(content) = record["content"].as_str() else {
                return Err(StepError::failed(format!(
                    "the previous content of `{}` held a secret and was not kept; restore it by hand",
                    path.display()
                )));
            };
            ctx.log
                .line(&format!("restoring the previous content of {}", path.display()));
            write_atomically(&path, content, None)
        }

        fn can_settle(&self) -> bool {
            true
        }

        async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
            settle_files(ctx, &write_definition(&self.content))
        }
    }

    impl FileReplace {
        /// Each file to edit with its text, and each one already edited (by
        /// an earlier attempt, going by its recorded hash, or before the step).
        #[allow(clippy::type_complexity)]
        fn survey(
            &self,
            ctx: &StepContext,
        ) -> Result<(Vec<(std::path::PathBuf, String)>, Vec<(std::path::PathBuf, String)>), StepError> {
            let earlier = written_before(ctx);
            let (mut edits, mut done) = (Vec::new(), Vec::new());
            for path in &self.paths {
                let path = ctx.path(path);
                let text =
                    read(&path)?.ok_or_else(|| StepError::failed(format!("`{}` does not exist", path.display())))?;
                if earlier.get(&path.display().to_string()) == Some(&sha(&text)) {
                    ctx.log
                        .line(&format!("{}: already edited by an earlier attempt", path.display()));
                    done.push((path, text));
                } else if text.contains(&self.search) {
                    edits.push((path, text));
                } else if !text.contains(&self.replace) {
                    return Err(StepError::failed(format!(
                        "`{}` contains neither {:?} nor {:?}",
                        path.display(),
                        self.search,
                        self.replace
                    )));
                } else {
                    ctx.log.line(&format!("{}: already edited", path.display()));
                    done.push((path, text));
                }
            }
            Ok((edits, done))
        }
    }

    impl ActionKind for FileReplace {
        async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
            let (edits, done) = self.survey(ctx)?;
            // Where `replace` will sit in each edited file, so undo puts
            // `search` back exactly there and nowhere else.
            let (undo, new) = undo_record(ctx, || {
                let files: Vec<Value> = edits
                    .iter()
                    .map(|(path, text)| {
                        let offsets = inserted_offsets(text, &self.search, &self.replace);
                        json!({ "path": path.display().to_string(), "offsets": offsets, "sha256": sha(text) })
                    })
                    .collect();
                Ok(json!({ "files": files }))
            })?;
            let before_step = |path: &Path, text: &str| {
                undo["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|file| file["path"].as_str() == Some(&path.display().to_string()))
                    .and_then(|file| file["sha256"].as_str().map(String::from))
                    .unwrap_or_else(|| sha(text))
            };
            let replaced: Vec<String> = edits
                .iter()
                .map(|(_, text)| text.replace(&self.search, &self.replace))
                .collect();
            let targets: Vec<Target> = edits
                .iter()
                .zip(&replaced)
                .map(|((path, text), new)| (path, text, new))
                .chain(done.iter().map(|(path, text)| (path, text, text)))
                .map(|(path, text, new)| Target {
                    path: path.display().to_string(),
                    before: Some(before_step(path, text)),
                    after: sha(new),
                })
                .collect();
            let definition = replace_definition(&self.search, &self.replace);
            if !edits.is_empty() {
                record(ctx, &targets, &definition, new.then_some(&undo)).await?;
                failpoint::hit("file.replace:recorded");
            } else if new {
                save_undo(ctx, &undo).await?;
            }
            for (index, ((path, text), new)) in edits.iter().zip(&replaced).enumerate() {
                if index > 0 {
                    failpoint::hit("file.replace:between-files");
                }
                let count = text.matches(self.search.as_str()).count();
                write_atomically(path, new, None)?;
                ctx.log
                    .line(&format!("{}: replaced {count} occurrence(s)", path.display()));
            }
            Ok(Applied {
                undo: Some(undo),
                ..Applied::default()
            })
        }

        fn has_builtin_undo(&self) -> bool {
            true
        }

        async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
            let files = record["files"].as_array().cloned().unwrap_or_default();
            for file in files {
                let path = ctx.path(file["path"].as_str().unwrap_or_default());
                let offsets: Vec<usize> = serde_json::from_value(file["offsets"].clone()).unwrap_or_default();
                let Some(mut text) = read(&path)? else {
                    return Err(undo_mismatch(&path));
                };
                if file.get("sha256").is_some() && unchanged(&file["sha256"], Some(&text)) {
                    ctx.log
                        .line(&format!("{}: as before the step, nothing to restore", path.display()));
                    continue;
                }
                for &at in offsets.iter().rev() {
                    if text.get(at..at + self.replace.len()) != Some(self.replace.as_str()) {
                        return Err(undo_mismatch(&path));
                    }
                    text.replace_range(at..at + self.replace.len(), &self.search);
                }
                write_atomically(&path, &text, None)?;
                ctx.log
                    .line(&format!("{}: restored {} occurrence(s)", path.display(), offsets.len()));
            }
            Ok(())
        }

        fn can_settle(&self) -> bool {
            true
        }

        async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
            settle_files(ctx, &replace_definition(&self.search, &self.replace))
        }
    }

    /// Offsets of each `replace` in the text after replacing every `search`.
    fn inserted_offsets(text: &str, search: &str, replace: &str) -> Vec<usize> {
        let mut offsets = Vec::new();
        let mut shift: isize = 0;
        for (at, _) in text.match_indices(search) {
            offsets.push(at.saturating_add_signed(shift));
            shift += replace.len() as isize - search.len() as isize;
        }
        offsets
    }

    /// The key of a `KEY=value` line.
    fn key_of(line: &str) -> Option<&str> {
        line.split_once('=')
            .map(|(key, _)| key.trim())
            .filter(|key| !key.is_empty() && !key.contains(' '))
    }

    impl ActionKind for FileLines {
        async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
            let path = ctx.path(&self.path);
            let previous = read(&path)?;
            let mut lines: Vec<String> = previous
                .as_deref()
                .unwrap_or_default()
                .lines()
                .map(String::from)
                .collect();
            let mut appended = Vec::new();
            let mut replaced = Vec::new();
            for wanted in &self.lines {
                if lines.iter().any(|line| line == wanted) {
                    continue;
                }
                let existing = key_of(wanted).and_then(|key| lines.iter().position(|line| key_of(line) == Some(key)));
                match existing {
                    Some(index) => {
                        let old = std::mem::replace(&mut lines[index], wanted.clone());
                        let old = if ctx.log.redactor().reveals(&old) {
                            Value::Null
                        } else {
                            Value::String(old)
                        };
                        replaced.push(json!({ "new_sha256": sha(wanted), "old": old }));
                    }
                    None => {
                        lines.push(wanted.clone());
                        appended.push(sha(wanted));
                    }
                }
            }
            let (undo, new) = undo_record(ctx, || {
                Ok(json!({
                    "created": previous.is_none(),
                    "appended": appended,
                    "replaced": replaced,
                    "sha256": previous.as_deref().map(sha),
                }))
            })?;
            let mut text = lines.join("\n");
            text.push('\n');
            if previous.as_deref() == Some(text.as_str()) {
                if new {
                    save_undo(ctx, &undo).await?;
                }
            } else {
                let target = Target {
                    path: path.display().to_string(),
                    before: undo["sha256"].as_str().map(String::from),
                    after: sha(&text),
                };
                record(ctx, &[target], &lines_definition(&self.lines), new.then_some(&undo)).await?;
                write_atomically(&path, &text, None)?;
                failpoint::hit("file.lines:written");
            }
            ctx.log.line(&format!(
                "{}: {} line(s) appended, {} replaced",
                path.display(),
                appended.len(),
                replaced.len()
            ));
            Ok(Applied {
                undo: Some(undo),
                ..Applied::default()
            })
        }

        fn has_builtin_undo(&self) -> bool {
            true
        }

        async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
            let path = ctx.path(&self.path);
            let current = read(&path)?;
            if record.get("sha256").is_some() && unchanged(&record["sha256"], current.as_deref()) {
                ctx.log
                    .line(&format!("{}: as before the step, nothing to restore", path.display()));
                return Ok(());
            }
            let Some(text) = current else {
                return if record["created"] == json!(true) {
                    Ok(())
                } else {
                    Err(undo_mismatch(&path))
                };
            };
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            for hash in record["appended"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let index = lines
                    .iter()
                    .rposition(|line| sha(line) == hash)
                    .ok_or_else(|| undo_mismatch(&path))?;
                lines.remove(index);
            }
            for change in record["replaced"].as_array().into_iter().flatten() {
                let hash = change["new_sha256"].as_str().unwrap_or_default();
                let index = lines
                    .iter()
                    .position(|line| sha(line) == hash)
                    .ok_or_else(|| undo_mismatch(&path))?;
                let Some(old) = change["old"].as_str() else {
                    return Err(StepError::failed(format!(
                        "a line of `{}` that planrun replaced held a secret and was not kept; restore it by hand",
                        path.display()
                    )));
                };
                lines[index] = old.to_string();
            }
            if record["created"] == json!(true) && lines.iter().all(|l| l.trim().is_empty()) {
                ctx.log
                    .line(&format!("removing {} (planrun created it)", path.display()));
                return remove(&path);
            }
            let mut text = lines.join("\n");
            text.push('\n');
            ctx.log.line(&format!("{}: lines restored", path.display()));
            write_atomically(&path, &text, None)
        }

        fn can_settle(&self) -> bool {
            true
        }

        async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
            settle_files(ctx, &lines_definition(&self.lines))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn offsets_account_for_length_changes() {
            let text = "a=OLD; b=OLD";
            let offsets = inserted_offsets(text, "OLD", "NEWER");
            let replaced = text.replace("OLD", "NEWER");
            assert_eq!(offsets, [2, 11]);
            for at in offsets {
                assert_eq!(&replaced[at..at + 5], "NEWER");
            }
        }
    }
}
