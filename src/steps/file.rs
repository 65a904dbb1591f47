//! File probes and edits: exists, contains, write, replace text, ensure lines.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::field_check::FieldCheck;
use crate::steps::KindSpec;

/// Passes when the path exists (and, with `non_empty`, is not empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileExists {
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

    fn validate(&self, check: &mut FieldCheck<'_>) {
        check.non_empty("path", &self.path);
    }
}

/// Passes when the file contains `text` (or a match of `regex`); with
/// `negate`, when it does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileContains {
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

    fn validate(&self, check: &mut FieldCheck<'_>) {
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
pub struct FileWrite {
    pub path: String,
    pub content: String,
    /// Unix permissions in octal, like `"0644"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

impl FileWrite {
    pub fn mode_bits(&self) -> Option<u32> {
        self.mode
            .as_deref()
            .and_then(|mode| u32::from_str_radix(mode.trim_start_matches("0o"), 8).ok())
    }
}

impl KindSpec for FileWrite {
    fn summary(&self) -> String {
        format!("write {} ({} bytes)", self.path, self.content.len())
    }

    fn validate(&self, check: &mut FieldCheck<'_>) {
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
pub struct FileReplace {
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

    fn validate(&self, check: &mut FieldCheck<'_>) {
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
pub struct FileLines {
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

    fn validate(&self, check: &mut FieldCheck<'_>) {
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
