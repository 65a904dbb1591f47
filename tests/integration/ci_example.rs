//! `examples/ci/github-actions.yml` runs real planrun commands: every
//! `planrun SUBCOMMAND --flag` in it is one `planrun SUBCOMMAND --help` knows.

use std::path::Path;

use crate::test::Test;

/// The `planrun ...` command lines of the workflow's `run:` steps.
fn planrun_lines(workflow: &str) -> Vec<String> {
    workflow
        .lines()
        .map(str::trim)
        .map(|line| line.strip_prefix("run: ").unwrap_or(line))
        .filter(|line| line.starts_with("planrun "))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_github_workflow_uses_only_real_subcommands_and_flags() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml");
    let workflow = std::fs::read_to_string(path).expect("the workflow");
    let lines = planrun_lines(&workflow);
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
        workflow.contains("--expect-hash"),
        "apply runs exactly what was reviewed"
    );
}
