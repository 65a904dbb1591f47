//! The JSON Schema of the plan format, generated from the serde types.

use crate::plan::raw::{PlanFile, PreflightFile, StepFile};
use crate::steps::{Action, Probe};

/// The schema as pretty JSON with a trailing newline (what
/// `schemas/plan.schema.json` holds).
pub fn plan_schema_json() -> String {
    let mut schema = schemars::schema_for!(PlanFile<StepFile<Action, Probe>, PreflightFile<Probe>>);
    schema.insert("$id".into(), "https://planrun.dev/schemas/plan.schema.json".into());
    schema.insert("title".into(), "planrun plan (format 1)".into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
