//! No input may panic planrun: a few hundred mutated and truncated copies
//! of a valid plan (a fixed seed, so failures reproduce) each end with
//! exit 0 or 2 and a rendered report, never a panic.

use crate::test::{Test, fixture_path};

const CASES: u64 = 300;

const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "=",
    "\n",
    ",",
    "#",
    "${",
    "${vars.",
    "${secrets.pg_password}",
    "${steps.backup.outputs.file}",
    "$${",
    "\0",
    "é",
    "\\u",
    "-1",
    "1e999",
    "nan",
    "\"\"\"",
    "[steps.x]\n",
    "depends_on = [\"restart\"]\n",
    "kind = \"tcp\"",
    "timeout = \"0s\"",
    "[[steps]]\n",
];

/// Values that are wrong in interesting ways, put after a `key = `.
const VALUES: &[&str] = &[
    "\"${vars.nope}\"",
    "\"${secrets.nope}\"",
    "\"${steps.restart.outputs.x}\"",
    "-5",
    "0",
    "true",
    "[]",
    "{}",
    "\"5 mins\"",
    "\"30d\"",
    "\"x\"",
    "\"mysql://db\"",
    "[\"copy-orders\"]",
    "[\"switch\", \"switch\"]",
    "{ kind = \"file.write\", path = \"x\", content = \"y\" }",
    "{ kind = \"tcp\", port = 70000 }",
    "{ kind = \"shel\" }",
    "{ attempts = 1000 }",
    "\"${vars.pg_port}\"",
    "\"\"",
    "2",
];

fn mutate(rng: &mut fastrand::Rng, plan: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = plan.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    for _ in 0..rng.usize(1..=2) {
        let line = rng.usize(0..lines.len());
        let assignment = lines[line].windows(3).position(|w| w == b" = ");
        match (rng.u8(0..6), assignment) {
            (0, Some(at)) => {
                let value = VALUES[rng.usize(0..VALUES.len())];
                lines[line].truncate(at + 3);
                lines[line].extend_from_slice(value.as_bytes());
            }
            (1, Some(at)) if at > 0 => {
                // A misspelled key: one character dropped.
                lines[line].remove(rng.usize(0..at));
            }
            (2, _) => {
                let copy = lines[rng.usize(0..lines.len())].clone();
                lines.insert(line, copy);
            }
            (3, _) => {
                lines.remove(line);
            }
            (4, _) => {
                let token = TOKENS[rng.usize(0..TOKENS.len())];
                let at = rng.usize(0..=lines[line].len());
                lines[line].splice(at..at, token.bytes());
            }
            _ => {
                let at = rng.usize(0..lines[line].len().max(1));
                if let Some(byte) = lines[line].get_mut(at) {
                    *byte = rng.u8(32..127);
                }
            }
        }
    }
    let mut out = lines.join(&b'\n');
    if rng.u8(0..10) == 0 {
        out.truncate(rng.usize(0..=out.len()));
    }
    out
}

#[test]
fn mutated_plans_never_panic() {
    let plan = std::fs::read(fixture_path("examples/migrate.toml")).expect("read fixture");
    let mut rng = fastrand::Rng::with_seed(20_260_512);
    let commands: [&[&str]; 4] = [
        &["validate", "plan.toml"],
        &["plan", "plan.toml", "--format", "json"],
        &["plan", "plan.toml", "--format", "markdown"],
        &["graph", "plan.toml", "--format", "dot"],
    ];
    for case in 0..CASES {
        let mutated = mutate(&mut rng, &plan);
        let args = commands[(case % 4) as usize];
        let run = Test::new().file("plan.toml", &mutated).args(args).run();
        let input = String::from_utf8_lossy(&mutated);
        assert!(
            matches!(run.code, Some(0 | 2)) && !run.stderr.contains("panicked"),
            "case {case}, `planrun {}` exited {:?}\n--- input\n{input}\n--- stderr\n{}",
            args.join(" "),
            run.code,
            run.stderr
        );
        if run.code == Some(2) {
            assert!(
                run.stderr.contains("is invalid") || run.stderr.contains("error"),
                "{}",
                run.stderr
            );
        }
    }
}
