//! The typed plan ([`pdplan::plan::PhasePlan`]) and `fixtures/plan.schema.json` agree.
//!
//! The schema generated from the types (schemars) is compared with the fixture, node by node:
//! every property the fixture names exists in the types with a compatible JSON type, every key
//! the fixture requires is required by the types, `const` / `enum` values agree, and at the top
//! level both list the same keys. Plans written by the solver and by `evaluate` validate against
//! the fixture and against the generated schema (which refuses unknown keys).
mod common;

use pdplan::plan::PhasePlan;
use serde_json::Value;
use std::collections::BTreeSet;

fn generated() -> Value {
    serde_json::to_value(schemars::schema_for!(PhasePlan)).expect("a schema serializes")
}

/// Follow `$ref` into `$defs` of the generated root.
fn deref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            deref(root, &root["$defs"][name])
        }
        None => node,
    }
}

/// The object schemas a node may be: itself, or every variant of `anyOf` / `oneOf`.
fn variants<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = deref(root, node);
    let mut out = Vec::new();
    for key in ["anyOf", "oneOf"] {
        if let Some(vs) = node.get(key).and_then(Value::as_array) {
            for v in vs {
                out.extend(variants(root, v));
            }
        }
    }
    if out.is_empty() {
        out.push(node);
    }
    out
}

/// JSON types a node allows (`null` left out: optional fields are skipped, not written null).
fn types(root: &Value, node: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for v in variants(root, node) {
        match v.get("type") {
            Some(Value::String(t)) => {
                out.insert(t.clone());
            }
            Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str).map(String::from)),
            _ if v.get("properties").is_some() => {
                out.insert("object".into());
            }
            _ if v.get("enum").is_some() || v.get("const").is_some() => {
                for x in v
                    .get("enum")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .chain(v.get("const"))
                {
                    out.insert(json_type(x).into());
                }
            }
            _ => {}
        }
    }
    out.remove("null");
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn allowed(fixture: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = match fixture.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(String::from).collect(),
        _ => BTreeSet::new(),
    };
    for x in fixture
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(fixture.get("const"))
    {
        out.insert(json_type(x).into());
    }
    if out.contains("number") {
        out.insert("integer".into());
    }
    out
}

fn values(node: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(c) = node.get("const") {
        out.insert(c.to_string());
    }
    for v in node.get("enum").and_then(Value::as_array).into_iter().flatten() {
        out.insert(v.to_string());
    }
    out
}

/// Compare one fixture node with the generated node at the same path.
fn agree(root: &Value, fixture: &Value, types_node: &Value, path: &str, errors: &mut Vec<String>) {
    let want = allowed(fixture);
    let got = types(root, types_node);
    if !want.is_empty() {
        if got.is_empty() {
            errors.push(format!(
                "{path}: the types allow any value, the schema says {want:?}"
            ));
        }
        for t in got.difference(&want) {
            errors.push(format!("{path}: the types write {t}, the schema allows {want:?}"));
        }
    }
    let (fv, gv) = (values(fixture), values(deref(root, types_node)));
    if !fv.is_empty() && (gv.is_empty() || !gv.is_subset(&fv)) {
        errors.push(format!("{path}: schema values {fv:?}, the types {gv:?}"));
    }
    if let Some(items) = fixture.get("items") {
        match deref(root, types_node).get("items") {
            Some(g) => agree(root, items, g, &format!("{path}[]"), errors),
            None => errors.push(format!("{path}: the schema has items, the types no array")),
        }
    }
    objects(root, fixture, types_node, path, errors);
    branches(root, fixture, types_node, path, errors);
}

/// A schema node with `anyOf` / `oneOf` branches (e.g. `deployment`: solve's or evaluate's):
/// every object variant of the types agrees with at least one branch; when none does, the
/// disagreements of the closest branch are reported.
fn branches(root: &Value, fixture: &Value, types_node: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(bs) = fixture
        .get("anyOf")
        .or_else(|| fixture.get("oneOf"))
        .and_then(Value::as_array)
    else {
        return;
    };
    for v in variants(root, types_node)
        .into_iter()
        .filter(|v| v.get("properties").is_some())
    {
        let mut closest: Option<Vec<String>> = None;
        for b in bs {
            let mut e = Vec::new();
            agree(root, b, v, path, &mut e);
            if closest.as_ref().is_none_or(|c| e.len() < c.len()) {
                closest = Some(e);
            }
        }
        errors.extend(closest.unwrap_or_default());
    }
}

/// Properties, required keys and `additionalProperties` of an object node, in every variant.
fn objects(root: &Value, fixture: &Value, types_node: &Value, path: &str, errors: &mut Vec<String>) {
    let props = fixture.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = fixture
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let extra = fixture.get("additionalProperties").filter(|a| a.is_object());
    if props.is_none() && required.is_empty() && extra.is_none() {
        return;
    }
    for v in variants(root, types_node)
        .into_iter()
        .filter(|v| v.get("properties").is_some())
    {
        let gprops = &v["properties"];
        let greq: BTreeSet<&str> = v["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for k in &required {
            if !greq.contains(k) {
                errors.push(format!(
                    "{path}.{k}: required by the schema, optional in the types"
                ));
            }
        }
        for (k, sub) in props.into_iter().flatten() {
            match gprops.get(k) {
                Some(g) => agree(root, sub, g, &format!("{path}.{k}"), errors),
                None => errors.push(format!("{path}.{k}: in the schema, not in the types")),
            }
        }
        if let Some(extra) = extra {
            for (k, g) in gprops.as_object().into_iter().flatten() {
                agree(root, extra, g, &format!("{path}.{k}"), errors);
            }
        }
    }
}

#[test]
fn types_and_fixture_schema_agree() {
    let fixture = common::schema();
    let root = generated();
    let mut errors = Vec::new();
    agree(&root, &fixture, &root, "plan", &mut errors);
    assert!(
        errors.is_empty(),
        "types and fixtures/plan.schema.json disagree:\n{}",
        errors.join("\n")
    );
    // Both ways at the top level: the same keys.
    let keys =
        |v: &Value| -> BTreeSet<String> { v["properties"].as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&fixture),
        keys(&root),
        "top-level keys of the schema vs the types"
    );
}

/// The comparison fails on a disagreement (it is not vacuous): a schema that requires a key the
/// types lack, or gives a property another type, is reported.
#[test]
fn a_disagreement_is_reported() {
    let root = generated();
    let mut broken = common::schema();
    broken["properties"]["gpus"]["required"]
        .as_array_mut()
        .unwrap()
        .push("per_rack".into());
    broken["properties"]["strategy"]["properties"]["tp"]["type"] = "string".into();
    broken["properties"]["memory"]["properties"]["per_gpu"]["properties"]["weights_bytes"]["type"] =
        "integer".into();
    // Inside a branch (solve's deployment): the unit's batch as a string.
    broken["properties"]["deployment"]["anyOf"][0]["properties"]["balanced"]["properties"]["unit"]["properties"]
        ["prefill_batch"]["type"] = "string".into();
    let mut errors = Vec::new();
    agree(&root, &broken, &root, "plan", &mut errors);
    let text = errors.join("\n");
    assert!(text.contains("plan.gpus.per_rack"), "{text}");
    assert!(text.contains("plan.strategy.tp"), "{text}");
    assert!(text.contains("plan.memory.per_gpu.weights_bytes"), "{text}");
    assert!(
        text.contains("plan.deployment.balanced.unit.prefill_batch"),
        "{text}"
    );
}

/// Every plan the solver writes validates against the schema generated from the types (no key
/// the types do not declare) as well as the fixture.
#[test]
fn plans_validate_against_the_generated_schema() {
    let validator = jsonschema::validator_for(&generated()).expect("the generated schema compiles");
    let r = common::resolved(common::qwen3_task());
    // A model that states static FP8 activation scales carries the (otherwise omitted) field.
    let mut fp8 = common::qwen3_task();
    fp8.model.dtype = pdplan::spec::task::Dtype::Fp8;
    fp8.model.static_activation_scales = true;
    let s = pdplan::solve(&r, None).unwrap();
    let s8 = pdplan::solve(&common::resolved(fp8), None).unwrap();
    for plan in s.plans.iter().chain(&s8.plans) {
        let v = serde_json::to_value(plan).unwrap();
        common::assert_valid(&v);
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

/// The contract's copy in `../shared/schema` (when present) agrees with the types as well, so the
/// fixture only extends it.
#[test]
fn types_and_shared_contract_agree() {
    let shared =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/schema/plan.schema.json");
    let Ok(text) = std::fs::read_to_string(&shared) else {
        eprintln!("{} not present: nothing to compare", shared.display());
        return;
    };
    let contract: Value = serde_json::from_str(&text).unwrap();
    let root = generated();
    let mut errors = Vec::new();
    agree(&root, &contract, &root, "plan", &mut errors);
    assert!(
        errors.is_empty(),
        "types and the shared schema disagree:\n{}",
        errors.join("\n")
    );
}
