#!/usr/bin/env python3
"""Helpers of tests/sandbox/faults.sh: instrumented copies of a plan, and the
fidelity of `planrun plan --live` (what it predicted, what apply then did).

  faults_lib.py steps PLAN_JSON                      one line per step: id, run kind, how it is undone
  faults_lib.py inject PLAN OUT STEP MODE            write a copy of PLAN with a fault at STEP
        MODE fail|hold: a last `verify` probe that fails, or holds until released
             (after the step's side effects, before planrun records the step done)
        MODE undo-hold: the step's undo holds once its effect is done (a shell
             rollback), or right after it (built-in undo: a new step the step
             depends on, whose rollback holds; it runs right after this undo)
  faults_lib.py fidelity LIVE_JSON STATUS_JSON       compare predictions with what happened
  faults_lib.py mid-copy STATE_DB STEP PID SECONDS   wait until STEP (a postgres.copy_table) of the
        latest run has checkpointed a batch and is still running; exit 1 if PID ends first

The fault fires only when the environment says so (SANDBOX_FAULT=fail|hold,
SANDBOX_FAULT_DIR): the same copy runs clean for resume and rollback.
"""
import json
import re
import sys
import tomllib

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
BUILTIN_UNDO = {"file.write", "file.replace", "file.lines", "postgres.create_database", "amqp.declare", "docker.run"}


def toml_key(key):
    return key if BARE_KEY.match(key) else json.dumps(key)


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value)} as TOML")


def dump_plan(plan):
    """The plan as TOML: top-level scalars, then one table per section entry."""
    lines = []
    for key, value in plan.items():
        if not isinstance(value, dict):
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in plan.items():
        if not isinstance(value, dict):
            continue
        if key in ("steps", "preflight"):
            for name, table in value.items():
                lines.append(f"\n[{key}.{toml_key(name)}]")
                lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
        else:
            lines.append(f"\n[{toml_key(key)}]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
    return "\n".join(lines) + "\n"


def fault_probe(step, mode):
    """A shell probe (planrun `$${` escapes) that fails or holds when told to."""
    hold = (
        'touch "$${SANDBOX_FAULT_DIR:?}/held"\n'
        "i=0\n"
        'while [ ! -e "$${SANDBOX_FAULT_DIR}/release" ] && [ "$i" -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done\n'
    )
    if mode == "fail":
        body = f'if [ "$${{SANDBOX_FAULT:-}}" = fail ]; then echo "faults.sh: injected failure after the side effects of {step}" >&2; exit 1; fi\n'
    else:
        body = f'if [ "$${{SANDBOX_FAULT:-}}" = hold ]; then\n{hold}fi\n'
    return body


def inject(plan_path, out_path, step, mode):
    with open(plan_path, "rb") as f:
        plan = tomllib.load(f)
    steps = plan["steps"]
    if step not in steps:
        sys.exit(f"no step {step}")
    target = steps[step]
    if mode in ("fail", "hold"):
        probe = {"kind": "shell", "command": fault_probe(step, mode)}
        target["verify"] = list(target.get("verify", [])) + [probe]
    elif mode == "undo-hold":
        rollback = target.get("rollback")
        if rollback and rollback.get("kind") == "shell" and "command" in rollback:
            rollback = dict(rollback)
            rollback["command"] = "(\n" + rollback["command"] + "\n) || exit $?\n" + fault_probe(step, "hold")
            target["rollback"] = rollback
        else:
            anchor = f"faults-anchor-{step}"
            steps[anchor] = {
                "phase": target.get("phase", "faults"),
                "description": f"faults.sh: its undo runs right after the undo of {step}",
                "depends_on": list(target.get("depends_on", [])),
                "run": {"kind": "shell", "command": "true"},
                "rollback": {"kind": "shell", "command": fault_probe(step, "hold")},
                "idempotent": True,
            }
            target["depends_on"] = list(target.get("depends_on", [])) + [anchor]
    else:
        sys.exit(f"unknown mode {mode}")
    with open(out_path, "w") as f:
        f.write(dump_plan(plan))


def steps_of(plan_json):
    with open(plan_json) as f:
        preview = json.load(f)
    for s in sorted(preview["steps"], key=lambda s: s["order"]):
        run = s.get("run")
        kind = run["kind"] if run else "-"
        if not run:
            undo = "none"
        elif s.get("rollback"):
            undo = "rollback:" + s["rollback"]["kind"]
        elif kind in BUILTIN_UNDO:
            undo = "builtin"
        else:
            undo = "none"
        has_check = "check" if s.get("check") else "nocheck"
        print(s["id"], kind, undo, has_check)


def prediction(state):
    """What `plan --live` said a step would do: run, skip, done, or unknown."""
    if state is None:
        return "run"  # no check: it runs when reached
    # On a plan with an unfinished run: "pending; would run", "interrupted; cannot know (...)".
    if ";" in state.split("(")[0]:
        status, state = state.split(";", 1)
        state = state.strip()
        if not state:
            state = status
    if state in ("pending", "interrupted", "failed", "blocked"):
        return "run"
    if state.startswith("satisfied now"):
        return "skip"
    if state.startswith("would run"):
        return "run"
    if state.startswith(("done", "succeeded", "satisfied")):
        return "done"
    if state.startswith("cannot know"):
        return "unknown"
    return "run"


def fidelity(live_json, status_json, label):
    with open(live_json) as f:
        live = json.load(f)
    with open(status_json) as f:
        status = json.load(f)
    did = {s["step_id"]: s["status"] for s in status["steps"]}
    deps = {s["id"]: s.get("depends_on", []) for s in live["steps"]}
    predicted = {s["id"]: prediction(s.get("state")) for s in live["steps"]}
    has_check = {s["id"]: bool(s.get("check")) for s in live["steps"]}
    mutating = {s["id"]: s.get("run") is not None and s["run"].get("kind") != "manual" for s in live["steps"]}
    order = {s["id"]: s["order"] for s in live["steps"]}

    def ancestors(step, seen=None):
        seen = set() if seen is None else seen
        for d in deps.get(step, []):
            if d not in seen:
                seen.add(d)
                ancestors(d, seen)
        return seen

    rows, matched, compared, violations, unknown = [], 0, 0, [], 0
    for sid, guess in predicted.items():
        outcome = did.get(sid)
        if guess == "done" or outcome is None:
            continue
        actual = "skip" if outcome == "satisfied" else "run"
        compared += 1
        # Ancestors that would change something first, nearest first.
        running_before = sorted((a for a in ancestors(sid) if predicted.get(a) == "run" and mutating.get(a)), key=lambda a: -order[a])
        decidable = has_check[sid] and not running_before
        if guess == "unknown":
            unknown += 1
            continue
        ok = guess == actual
        matched += ok
        if not ok:
            why = f"depends on {', '.join(running_before[:3])}{'…' if len(running_before) > 3 else ''}, which would run first" if running_before else "the check's answer changed without a step in between"
            rows.append(f"{label}\t{sid}\tpredicted {guess}\tdid {actual}\t{'MUST MATCH' if decidable else 'cannot know: ' + why}")
            if decidable:
                violations.append(sid)
    print(f"FIDELITY\t{label}\t{matched}\t{compared}\t{len(violations)}\t{unknown}")
    for r in rows:
        print("MISMATCH\t" + r)


def mid_copy(state_db, step, pid, seconds):
    import os
    import sqlite3
    import time

    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return 1
        try:
            con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=1)
            row = con.execute(
                "SELECT s.status, s.progress FROM steps s JOIN runs r ON r.id = s.run_id "
                "WHERE s.step_id = ? ORDER BY r.started_at DESC LIMIT 1",
                (step,),
            ).fetchone()
            con.close()
        except sqlite3.Error:
            row = None
        if row and row[0] == "running" and row[1]:
            progress = json.loads(row[1])
            if progress.get("copied", 0) > 0:
                print(f"{step}: {progress['copied']} rows copied, last key {progress.get('last_key')}")
                return 0
        time.sleep(0.02)
    return 1


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "steps":
        steps_of(sys.argv[2])
    elif cmd == "inject":
        inject(*sys.argv[2:6])
    elif cmd == "fidelity":
        fidelity(*sys.argv[2:5])
    elif cmd == "mid-copy":
        sys.exit(mid_copy(*sys.argv[2:6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
