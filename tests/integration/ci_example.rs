//! `examples/ci/github-actions.yml` runs real planrun commands: the
//! workflow is parsed as YAML, and every `planrun SUBCOMMAND --flag` in a
//! step's `run` (after a pipe, inside `$(…)`, continued with `\`) is one
//! `planrun SUBCOMMAND --help` knows.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use crate::test::Test;

/// Every step of every job of `workflow`.
fn steps(workflow: &Yaml) -> Vec<&Yaml> {
    let Some(jobs) = workflow["jobs"].as_hash() else {
        panic!("the workflow has no jobs");
    };
    jobs.values()
        .flat_map(|job| job["steps"].as_vec().into_iter().flatten())
        .collect()
}

/// The `planrun ...` commands of the steps' `run` scripts: lines joined
/// where they end in `\`, split at `|`, `;`, `&&`, `||`, `$(` and `)`.
fn planrun_lines(workflow: &Yaml) -> Vec<String> {
    let mut commands = Vec::new();
    for script in steps(workflow).into_iter().filter_map(|step| step["run"].as_str()) {
        let joined = script.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line
                .replace("$(", "\n")
                .replace(['|', ';', ')'], "\n")
                .replace("&&", "\n");
            commands.extend(
                line.lines()
                    .map(str::trim)
                    .filter(|command| command.starts_with("planrun "))
                    .map(str::to_string),
            );
        }
    }
    commands
}

#[test]
fn the_github_workflow_uses_only_real_subcommands_and_flags() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml");
    let text = std::fs::read_to_string(path).expect("the workflow");
    let documents = YamlLoader::load_from_str(&text).expect("the workflow is YAML");
    let workflow = &documents[0];
    let lines = planrun_lines(workflow);
    assert!(lines.len() >= 5, "validate, plan, apply, report: {lines:?}");
    let test = Test::new();
    let mut subcommands = Vec::new();
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let sub = words[1];
        let help = test.cmd(&[sub, "--help"]);
        help.status(0);
        for flag in words.iter().filter(|word| word.starts_with("--")) {
            assert!(
                help.stdout.contains(&format!("{flag} "))
                    || help.stdout.contains(&format!("{flag}\n"))
                    || help.stdout.contains(&format!("{flag} <")),
                "`planrun {sub}` has no `{flag}` (in `{line}`)"
            );
        }
        for value in words
            .windows(2)
            .filter(|pair| pair[0] == "--format")
            .map(|pair| pair[1])
        {
            assert!(help.stdout.contains(value), "`planrun {sub} --format {value}`");
        }
        subcommands.push(sub.to_string());
    }
    for needed in ["validate", "plan", "apply", "report"] {
        assert!(
            subcommands.iter().any(|sub| sub == needed),
            "the workflow never runs `planrun {needed}`"
        );
    }
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("planrun apply") && line.contains("--expect-hash")),
        "apply runs exactly what was reviewed"
    );
    // The JUnit report reaches the CI's test tab, not only an artifact.
    let published = steps(workflow).into_iter().any(|step| {
        step["uses"].as_str().is_some_and(|uses| uses.contains("junit"))
            && step["with"]["report_paths"].as_str() == Some("planrun-junit.xml")
    });
    assert!(published, "a step publishes planrun-junit.xml as test results");
}
