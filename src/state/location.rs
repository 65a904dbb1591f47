//! Where the state lives: `--state URL`, else `PLANRUN_STATE`, else
//! `.planrun/state.db` in the working directory.

use std::fmt;
use std::path::{Path, PathBuf};

pub const DEFAULT_PATH: &str = ".planrun/state.db";

/// How hard SQLite works to keep a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sync {
    /// WAL with `synchronous=NORMAL`: every commit survives a crash or kill
    /// of planrun; an OS crash or power loss may lose the last commits.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before planrun goes on.
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite {
        path: PathBuf,
        sync: Sync,
    },
    /// A PostgreSQL database shared by a team: `postgres://…`.
    Postgres {
        url: String,
    },
}

impl Location {
    /// Parses `sqlite://PATH[?sync=full]`, `sqlite:PATH` or a plain path.
    pub fn parse(text: &str) -> Result<Location, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the state location is empty".into());
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            url::Url::parse(text).map_err(|e| format!("bad PostgreSQL URL: {e}"))?;
            return Ok(Location::Postgres { url: text.to_string() });
        }
        if let Some((scheme, _)) = text.split_once(':')
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme != "sqlite"
        {
            // Only the scheme is shown: the rest may hold a password.
            return Err(format!(
                "unknown state scheme `{scheme}:` (expected `sqlite://PATH`, `postgres://…` or a file path; \
                 for a file whose name has a colon, write `sqlite://PATH`)"
            ));
        }
        let rest = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut sync = Sync::Normal;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair {
                "sync=full" => sync = Sync::Full,
                "sync=normal" => sync = Sync::Normal,
                other => {
                    return Err(format!(
                        "unknown state option `{other}` (expected `sync=full` or `sync=normal`)"
                    ));
                }
            }
        }
        if path.is_empty() {
            return Err(format!("`{text}` names no file"));
        }
        Ok(Location::Sqlite {
            path: PathBuf::from(path),
            sync,
        })
    }

    /// `--state`, else `PLANRUN_STATE`, else the default.
    pub fn resolve(flag: Option<&str>) -> Result<Location, String> {
        match flag {
            // An empty `--state` is a mistake, not a request for the default.
            Some(text) => Location::parse(text),
            None => match std::env::var("PLANRUN_STATE") {
                Ok(text) if !text.trim().is_empty() => Location::parse(&text),
                _ => Location::parse(DEFAULT_PATH),
            },
        }
    }

    /// Where step logs go: beside a SQLite file, else `.planrun/logs`.
    pub fn logs_dir(&self) -> PathBuf {
        match self {
            Location::Sqlite { path, .. } => path.parent().unwrap_or(Path::new(".")).join("logs"),
            Location::Postgres { .. } => PathBuf::from(".planrun/logs"),
        }
    }
}

/// The name of planrun's own directory (the default state and logs).
const OWN_DIR: &str = ".planrun";

/// Creates `dir` and its parents. A `.planrun` directory among them gets a
/// `.gitignore` that ignores everything in it, so the state and the logs
/// never dirty a repository (a clean-tree check of the plan would fail on
/// them), like `.venv` or `.pytest_cache`.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let own = dir
        .ancestors()
        .find(|ancestor| ancestor.file_name().is_some_and(|name| name == OWN_DIR));
    if let Some(own) = own {
        let ignore = own.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(ignore, "# Written by planrun: its state and logs stay out of git.\n*\n")?;
        }
    }
    Ok(())
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite { path, .. } => write!(f, "sqlite://{}", path.display()),
            Location::Postgres { url } => f.write_str(&crate::steps::credentials::display_url(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn planrun_own_directory_ignores_itself_and_others_are_left_alone() {
        let dir = tempfile::tempdir().expect("temporary directory");
        super::create_dir(&dir.path().join(".planrun/logs/run")).expect("create");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".planrun/.gitignore"))
                .expect("written")
                .lines()
                .last(),
            Some("*")
        );
        super::create_dir(&dir.path().join("state")).expect("create");
        assert!(!dir.path().join("state/.gitignore").exists());
    }

    use super::*;

    #[test]
    fn parses_sqlite_forms() {
        let expected = Location::Sqlite {
            path: "a/b.db".into(),
            sync: Sync::Normal,
        };
        assert_eq!(Location::parse("sqlite://a/b.db"), Ok(expected.clone()));
        assert_eq!(Location::parse("sqlite:a/b.db"), Ok(expected.clone()));
        assert_eq!(Location::parse("a/b.db"), Ok(expected));
        assert_eq!(
            Location::parse("sqlite:///tmp/s.db?sync=full"),
            Ok(Location::Sqlite {
                path: "/tmp/s.db".into(),
                sync: Sync::Full
            })
        );
        assert!(Location::parse("sqlite://x.db?fast=yes").is_err());
        let postgres = Location::parse("postgres://planrun:pw@db:5432/state");
        assert_eq!(
            postgres.as_ref().map(ToString::to_string),
            Ok("postgres://planrun:***@db:5432/state".to_string()),
            "the password is never shown"
        );
        assert!(Location::parse("").is_err());
    }

    #[test]
    fn refuses_unknown_schemes_without_showing_the_rest() {
        for url in [
            "mysql://root:pw6@h/db",
            "pg://postgres:pw5@127.0.0.1/x",
            "postgress://u@h/db",
            "postgres:/x",
        ] {
            let error = Location::parse(url).expect_err(url);
            assert!(error.contains("unknown state scheme"), "{error}");
            assert!(!error.contains("pw"), "{error}");
        }
        assert!(Location::parse("./a:b.db").is_ok(), "a path with a colon, not a scheme");
        assert!(Location::resolve(Some(" ")).is_err(), "an empty --state is an error");
    }
}
