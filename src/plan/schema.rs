//! The JSON Schema of the plan format, generated from the serde types.
//!
//! Inside steps and preflight checks, `${vars.NAME}` alone in a string may
//! stand for a number, a boolean or a duration: vars are substituted before
//! those tables are decoded. The schema says so, so that editors validating
//! a real plan (`port = "${vars.pg_port}"`) do not flag it: every typed
//! scalar field there also accepts a `VarReference` string. The analyzer
//! still checks the substituted value's type.

use serde_json::{Map, Value, json};

use crate::plan::raw::{PlanFile, PreflightFile, StepFile};
use crate::steps::{Action, Probe};

const VAR_REFERENCE: &str = "VarReference";

/// Step and preflight ids, as the analyzer checks them.
const ID_PATTERN: &str = "^[a-z0-9][a-z0-9_-]*$";

/// Definitions that are not decoded after substitution: the top-level
/// sections. (`RetryFile` is shared by `[defaults]` and steps; it follows the
/// steps, so the schema is a little more lenient in `[defaults].retry` than
/// the analyzer.)
const NOT_SUBSTITUTED: &[&str] = &["Defaults", "VarValue", "SecretSource", VAR_REFERENCE];

/// The schema as pretty JSON with a trailing newline (what
/// `schemas/plan.schema.json` holds).
pub(crate) fn plan_schema_json() -> String {
    let mut schema = schemars::schema_for!(PlanFile<StepFile<Action, Probe>, PreflightFile<Probe>>);
    schema.insert("$id".into(), "https://planrun.dev/schemas/plan.schema.json".into());
    schema.insert("title".into(), "planrun plan (format 1)".into());
    if let Some(definitions) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        accept_var_references(definitions);
    }
    for section in ["steps", "preflight"] {
        if let Some(Value::Object(property)) = schema.get_mut("properties").and_then(|p| p.get_mut(section)) {
            property.insert("propertyNames".into(), json!({ "pattern": ID_PATTERN }));
        }
    }
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn accept_var_references(definitions: &mut Map<String, Value>) {
    let scalar: Vec<String> = definitions
        .iter()
        .filter(|(_, schema)| is_typed_scalar(schema, &Map::new()))
        .map(|(name, _)| name.clone())
        .collect();
    let lookup: Map<String, Value> = definitions
        .iter()
        .filter(|(name, _)| scalar.contains(name))
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect();
    for (name, schema) in definitions.iter_mut() {
        if !NOT_SUBSTITUTED.contains(&name.as_str()) && !scalar.contains(name) {
            wrap_fields(schema, &lookup);
        }
    }
    definitions.insert(
        VAR_REFERENCE.into(),
        json!({
            "description": "`${vars.NAME}` alone in a string: the var's value stands for this field.",
            "type": "string",
            "pattern": r"^\$\{vars\.[A-Za-z0-9_-]+\}$"
        }),
    );
}

/// Walks the fields of an object schema (and the variants of a tagged
/// enum, and array items), letting each typed scalar also be a var reference.
fn wrap_fields(schema: &mut Value, scalars: &Map<String, Value>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(variants)) = object.get_mut(key) {
            for variant in variants.iter_mut() {
                wrap_fields(variant, scalars);
            }
        }
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if name != "kind" {
                wrap(property, scalars);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            wrap(inner, scalars);
        }
    }
}

fn wrap(schema: &mut Value, scalars: &Map<String, Value>) {
    if !is_typed_scalar(schema, scalars) {
        wrap_fields(schema, scalars);
        return;
    }
    let reference = json!({ "$ref": format!("#/$defs/{VAR_REFERENCE}") });
    if let Some(Value::Array(variants)) = schema.get_mut("anyOf") {
        variants.push(reference);
        return;
    }
    // Annotations stay outside, where editors show them on hover and use
    // them to complete.
    let mut wrapped = Map::new();
    if let Some(object) = schema.as_object_mut() {
        for key in ["description", "default"] {
            if let Some(annotation) = object.shift_remove(key) {
                wrapped.insert(key.into(), annotation);
            }
        }
    }
    wrapped.insert("anyOf".into(), json!([schema.take(), reference]));
    *schema = Value::Object(wrapped);
}

/// A number, boolean, or a constrained string (pattern, enum): a value a var
/// could stand for, that a literal `${vars.NAME}` would not match. Objects,
/// arrays and plain strings are not.
fn is_typed_scalar(schema: &Value, scalars: &Map<String, Value>) -> bool {
    let Some(object) = schema.as_object() else {
        return false;
    };
    if let Some(Value::String(reference)) = object.get("$ref") {
        return reference
            .strip_prefix("#/$defs/")
            .is_some_and(|name| scalars.contains_key(name));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(variants)) = object.get(key) {
            return variants.iter().any(|variant| is_typed_scalar(variant, scalars));
        }
    }
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let constrained = ["pattern", "enum", "const"].iter().any(|k| object.contains_key(*k));
    if types.iter().any(|t| matches!(*t, "object" | "array")) {
        return false;
    }
    types.iter().any(|t| matches!(*t, "integer" | "number" | "boolean")) || constrained
}
