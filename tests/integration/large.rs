//! Large plans are read a piece at a time; errors must still point at
//! their exact place, and anything a piece cannot say alone must give the
//! error the whole file gives.

use crate::test::Test;

/// Enough steps for the plan to be read in pieces (over 128 KiB).
const STEPS: usize = 1000;

/// A plan of `STEPS` steps; `edit(i)` may replace step `i`'s body. Returns
/// the text and the 1-based line where each step's body starts.
fn plan(edit: impl Fn(usize) -> Option<String>) -> (String, Vec<usize>) {
    let mut text = String::from("format = 1\nname = \"large\"\n[vars]\nroot = \"/srv\"\n");
    let mut lines = Vec::new();
    for i in 0..STEPS {
        text.push_str(&format!("[steps.s{i:04}]\n"));
        lines.push(text.lines().count() + 1);
        let body = edit(i).unwrap_or_else(|| {
            let dependency = if i > 0 {
                format!("depends_on = [\"s{:04}\"]\n", i - 1)
            } else {
                String::new()
            };
            format!(
                "{dependency}check = {{ kind = \"file.exists\", path = \"${{vars.root}}/{i}\" }}\n\
                 run = {{ kind = \"shell\", command = \"touch ${{vars.root}}/{i}\" }}\n\
                 rollback = {{ kind = \"shell\", command = \"rm ${{vars.root}}/{i}\" }}\n"
            )
        });
        text.push_str(&body);
    }
    assert!(text.len() > 140_000, "too small to be read in pieces");
    (text, lines)
}

#[test]
fn a_valid_large_plan_compiles_and_previews() {
    let (text, _) = plan(|_| None);
    let run = Test::new()
        .plan(&text)
        .args(&["plan", "plan.toml", "--format", "json"])
        .run();
    run.status(0);
    let preview: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(preview["summary"]["steps"], STEPS);
    assert_eq!(preview["summary"]["levels"], STEPS);
}

#[test]
fn errors_in_a_large_plan_point_at_their_place() {
    let (text, lines) = plan(|i| match i {
        700 => Some("run = { kind = \"shell\", comand = \"true\" }\n".into()),
        999 => Some("depends_on = [\"s0998x\"]\ncheck = { kind = \"env\", name = \"X\" }\n".into()),
        _ => None,
    });
    let run = Test::new().plan(&text).args(&["validate", "plan.toml"]).run();
    run.status(2);
    let unknown_field = format!("plan.toml:{}:25]", lines[700]);
    let unknown_dependency = format!("plan.toml:{}:15]", lines[999]);
    for expected in [
        &unknown_field,
        &unknown_dependency,
        &"did you mean `command`?".to_string(),
    ] {
        assert!(
            run.stderr.contains(expected.as_str()),
            "no {expected} in\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_step_defined_twice_in_a_large_plan_is_a_toml_error() {
    let (mut text, _) = plan(|_| None);
    text.push_str("[steps.s0100]\ncheck = { kind = \"env\", name = \"X\" }\n");
    let run = Test::new().plan(&text).args(&["validate", "plan.toml"]).run();
    run.status(2);
    assert!(run.stderr.contains("planrun::toml-syntax"), "{}", run.stderr);
    assert!(run.stderr.contains("duplicate key"), "{}", run.stderr);
}
