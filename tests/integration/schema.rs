//! `schemas/plan.schema.json`: the committed schema is what `planrun
//! schema` prints, and every plan in `plans/`, `examples/` and the test
//! fixtures declares it and satisfies it, checked with an independent
//! validator (the `jsonschema` crate).

use std::path::{Path, PathBuf};

use crate::test::{Test, fixture_path};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn committed_schema() -> String {
    std::fs::read_to_string(root().join("schemas/plan.schema.json")).expect("read schemas/plan.schema.json")
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let run = Test::new().args(&["schema"]).run();
    run.status(0);
    assert!(
        run.stdout == committed_schema(),
        "schemas/plan.schema.json is stale: run `cargo run -- schema > schemas/plan.schema.json`"
    );
}

/// `plans/*.toml`, `examples/*.toml` and `tests/fixtures/examples/*.toml`,
/// without var files (`*.vars.toml`). `plans/` and `examples/` may not
/// exist yet; a directory that exists must be readable.
fn plan_files() -> Vec<PathBuf> {
    toml_files().into_iter().filter(|path| !is_var_file(path)).collect()
}

fn is_var_file(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".vars.toml")
}

fn toml_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [root().join("plans"), root().join("examples"), fixture_path("examples")] {
        if !dir.exists() {
            continue;
        }
        for entry in std::fs::read_dir(&dir).expect("read plan directory") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The `#:schema` line that points from `file` to the committed schema.
fn schema_line(file: &Path) -> String {
    let depth = file
        .parent()
        .and_then(|dir| dir.strip_prefix(root()).ok())
        .map_or(0, |relative| relative.components().count());
    format!("#:schema {}schemas/plan.schema.json", "../".repeat(depth))
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&committed_schema()).expect("the schema is JSON");
    jsonschema::meta::validate(&schema).expect("the schema is a valid JSON Schema");
    jsonschema::validator_for(&schema).expect("compile the schema")
}

fn as_json(text: &str) -> serde_json::Value {
    let table: toml::Table = toml::from_str(text).expect("plan is TOML");
    serde_json::to_value(table).expect("TOML converts to JSON")
}

#[test]
fn every_plan_declares_and_satisfies_the_schema() {
    let validator = validator();
    let files = plan_files();
    assert!(!files.is_empty(), "no plans found");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read plan");
        let first_line = text.lines().next().unwrap_or_default();
        assert_eq!(first_line, schema_line(&file), "first line of {}", file.display());
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match the schema:\n{}",
            file.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn every_plan_is_valid() {
    for file in plan_files() {
        let text = std::fs::read_to_string(&file).expect("read plan");
        let run = Test::new().plan(&text).args(&["validate", "plan.toml"]).run();
        assert_eq!(run.code, Some(0), "{}:\n{}", file.display(), run.stderr);
    }
}

/// A var file `NAME-WHERE.vars.toml` beside `NAME.toml` sets vars of that
/// plan: the plan validates with it (every name declared, every value of
/// the right type).
#[test]
fn every_var_file_is_valid_with_its_plan() {
    let var_files: Vec<PathBuf> = toml_files().into_iter().filter(|path| is_var_file(path)).collect();
    for var_file in var_files {
        let name = var_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let plan_name = name
            .trim_end_matches(".vars.toml")
            .split('-')
            .next()
            .unwrap_or_default();
        let plan = var_file.with_file_name(format!("{plan_name}.toml"));
        assert!(
            plan.exists(),
            "{}: no plan `{}` beside it",
            var_file.display(),
            plan.display()
        );
        let run = Test::new()
            .plan(&std::fs::read_to_string(&plan).expect("read plan"))
            .file("vars.toml", std::fs::read(&var_file).expect("read var file"))
            .args(&["validate", "plan.toml", "--var-file", "vars.toml"])
            .run();
        assert_eq!(run.code, Some(0), "{}:\n{}", var_file.display(), run.stderr);
    }
}

#[test]
fn a_var_reference_may_stand_for_a_typed_field_but_other_strings_may_not() {
    let validator = validator();
    let plan = |port: &str| {
        as_json(&format!(
            "format = 1\nname = 'p'\n[vars]\nport = 5432\n[steps.a]\ncheck = {{ kind = 'tcp', port = {port} }}\n"
        ))
    };
    assert!(validator.is_valid(&plan("'${vars.port}'")));
    assert!(validator.is_valid(&plan("5432")));
    assert!(!validator.is_valid(&plan("'5432'")));
    assert!(!validator.is_valid(&plan("'${secrets.port}'")));
}

#[test]
fn the_schema_rejects_what_the_validator_rejects() {
    let validator = validator();
    let plan = |head: &str, step: &str| {
        as_json(&format!(
            "format = 1\nname = 'p'\n{head}\n[steps.{step}]\nrun = {{ kind = 'shell', command = 'true' }}\ntimeout = '1h30m'\n"
        ))
    };
    assert!(validator.is_valid(&plan("", "a-1_b")));
    for (head, step) in [
        ("[preflight.Bad]\nprobe = { kind = 'env', name = 'X' }", "a"),
        ("", "Upper"),
        ("", "-x"),
    ] {
        assert!(!validator.is_valid(&plan(head, step)), "{head} {step}");
    }
    let format = |n: &str| {
        as_json(&format!(
            "format = {n}\nname = 'p'\n[steps.a]\ncheck = {{ kind = 'env', name = 'X' }}\n"
        ))
    };
    assert!(validator.is_valid(&format("1")));
    assert!(!validator.is_valid(&format("2")));
    let step = |fields: &str| as_json(&format!("format = 1\nname = 'p'\n[steps.a]\n{fields}\n"));
    for fields in [
        "timeout = '1d1d'",
        "run = { kind = 'shell', command = 'x', exit_codes = [256] }",
        "check = { kind = 'tcp', port = 0 }",
    ] {
        assert!(!validator.is_valid(&step(fields)), "{fields}");
    }
}
