//! `planrun completions SHELL` and `planrun man` come from the CLI
//! definition: every subcommand and its flags are in them.

use crate::test::Test;

const SUBCOMMANDS: &[&str] = &[
    "validate",
    "plan",
    "graph",
    "schema",
    "apply",
    "resume",
    "rollback",
    "status",
    "runs",
    "logs",
    "mark",
    "unlock",
    "rehearse",
    "report",
    "completions",
    "man",
];

#[test]
fn bash_completions_are_valid_bash_and_know_every_subcommand_and_flag() {
    let test = Test::new();
    let run = test.cmd(&["completions", "bash"]);
    run.status(0);
    for sub in SUBCOMMANDS {
        assert!(
            run.stdout.contains(&format!("planrun__subcmd__{sub}")),
            "no `{sub}` in:\n{}",
            run.stdout
        );
    }
    for flag in [
        "--rollback-on-failure",
        "--kill-grace",
        "--accept-drift",
        "--parallelism",
    ] {
        assert!(run.stdout.contains(flag), "no `{flag}`");
    }
    std::fs::write(test.path().join("planrun.bash"), &run.stdout).expect("write");
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(test.path().join("planrun.bash"))
        .output()
        .expect("bash runs");
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
}

#[test]
fn zsh_and_fish_completions_name_the_subcommands_and_other_shells_are_refused() {
    let test = Test::new();
    for shell in ["zsh", "fish"] {
        let run = test.cmd(&["completions", shell]);
        run.status(0);
        assert!(
            run.stdout.contains("rollback") && run.stdout.contains("resume"),
            "{shell}"
        );
    }
    test.cmd(&["completions", "tcsh"]).status(2);
}

#[test]
fn the_man_page_has_a_section_for_planrun_and_each_subcommand() {
    let run = Test::new().cmd(&["man"]);
    run.status(0);
    assert!(run.stdout.contains(".TH planrun 1"), "{}", run.stdout);
    for sub in SUBCOMMANDS {
        assert!(
            run.stdout.contains(&format!(".TH planrun-{sub} ")),
            "no page for `{sub}`"
        );
    }
}

/// Regression: the summary of `report` named JUnit and Markdown, not HTML.
#[test]
fn the_help_summary_of_report_names_its_three_formats() {
    let run = Test::new().cmd(&["--help"]);
    run.status(0);
    let help = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains(
            "report Report a run: a self-contained HTML page, JUnit XML for CI test tabs, Markdown for a pull request"
        ),
        "{}",
        run.stdout
    );
}
