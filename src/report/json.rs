//! The JSON writer: any typed result (a phase plan, a comparison) as pretty JSON with sorted keys.

use crate::error::{Error, Result};
use serde::Serialize;

/// Pretty JSON with a trailing newline. Keys are sorted (serde_json's map is a `BTreeMap`), so the
/// bytes depend on the values only, never on struct field order.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    pretty(&to_value(value)?)
}

/// The JSON value of a typed result (keys sorted), for writers that add to it before [`pretty`].
pub fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("JSON of a result: {e}")))
}

/// [`to_json`] of a value already built: pretty, with a trailing newline.
pub fn pretty(v: &serde_json::Value) -> Result<String> {
    let mut s =
        serde_json::to_string_pretty(v).map_err(|e| Error::Internal(format!("JSON of a result: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// The [`pretty`] text of a JSON object with one more top-level entry `key: value`, from the
/// object's own [`pretty`] text, without serializing the object again: the entry's text is
/// spliced in before the first top-level key that sorts after `key` (keys are sorted bytewise,
/// as serde_json's map orders them), so the bytes equal [`pretty`] of the object with the entry
/// inserted (tests below). Used for a plan's `run` entry, which holds the hash of the plan's
/// text without it. Falls back to a fresh serialization if `text` is not such an object's
/// pretty text or already has `key`.
pub fn pretty_with_entry(text: &str, key: &str, value: &serde_json::Value) -> Result<String> {
    if let Some(s) = splice(text, key, value)? {
        return Ok(s);
    }
    let mut v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::Internal(format!("JSON of a result: {e}")))?;
    let serde_json::Value::Object(map) = &mut v else {
        return Err(Error::Internal("JSON of a result: not an object".into()));
    };
    map.insert(key.to_string(), value.clone());
    pretty(&v)
}

/// The fast path of [`pretty_with_entry`]; `None` when `text` is not a non-empty pretty object or
/// already has `key`.
fn splice(text: &str, key: &str, value: &serde_json::Value) -> Result<Option<String>> {
    let Some(body) = text.strip_prefix("{\n").and_then(|b| b.strip_suffix("\n}\n")) else {
        return Ok(None);
    };
    // Top-level keys start the lines indented by exactly two spaces (nested ones by more; a
    // string value never holds a raw newline).
    let mut insert_at = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("  \"") {
            let Some(this) = top_level_key(rest) else {
                return Ok(None);
            };
            match this.as_str().cmp(key) {
                std::cmp::Ordering::Equal => return Ok(None),
                std::cmp::Ordering::Greater => {
                    insert_at = Some(offset);
                    break;
                }
                std::cmp::Ordering::Less => {}
            }
        }
        offset += line.len();
    }
    let entry = {
        let key_json = serde_json::to_string(key).map_err(|e| Error::Internal(e.to_string()))?;
        let value_text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::Internal(format!("JSON of a result: {e}")))?;
        format!("  {key_json}: {}", value_text.replace('\n', "\n  "))
    };
    let mut out = String::with_capacity(text.len() + entry.len() + 4);
    out.push_str("{\n");
    match insert_at {
        Some(at) => {
            out.push_str(&body[..at]);
            out.push_str(&entry);
            out.push_str(",\n");
            out.push_str(&body[at..]);
        }
        None => {
            out.push_str(body);
            out.push_str(",\n");
            out.push_str(&entry);
        }
    }
    out.push_str("\n}\n");
    Ok(Some(out))
}

/// The key of a top-level line, given the line after its opening quote (`name": …`), unescaped.
fn top_level_key(rest: &str) -> Option<String> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return serde_json::from_str(&format!("\"{}\"", &rest[..i])).ok(),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The reference: the object with the entry inserted, serialized afresh.
    fn reference(obj: &Value, key: &str, value: &Value) -> String {
        let mut v = obj.clone();
        v.as_object_mut().unwrap().insert(key.into(), value.clone());
        pretty(&v).unwrap()
    }

    #[test]
    fn splicing_equals_serializing_the_object_with_the_entry() {
        let run = json!({"hash": "ab\"c", "inputs": [{"path": "t.md", "sha256": "00"}], "n": 1.5});
        let objects = [
            json!({"a": 1}),
            json!({"z": 1}),
            json!({"a": {"run": 1, "s": "x\ny"}, "s": [1, {"q": null}], "z": "run"}),
            json!({"assumptions": ["model \"x\""], "layout": {"tp": 2}, "solver": {}, "zz": []}),
            json!({"r": 1, "ru": 2, "runa": 3, "rum": {"run": []}, "é": 4, "\"q": 5}),
            json!({}),
        ];
        for obj in &objects {
            for (key, value) in [("run", &run), ("a", &json!(null)), ("zzz", &json!([]))] {
                let text = pretty(obj).unwrap();
                let got = pretty_with_entry(&text, key, value).unwrap();
                assert_eq!(got, reference(obj, key, value), "{obj} + {key}");
            }
        }
    }

    #[test]
    fn an_existing_key_is_replaced_like_an_insert() {
        let obj = json!({"a": 1, "run": {"old": true}, "z": 2});
        let text = pretty(&obj).unwrap();
        let value = json!({"new": 1});
        assert_eq!(
            pretty_with_entry(&text, "run", &value).unwrap(),
            reference(&obj, "run", &value)
        );
    }

    /// Random JSON values: nested objects and arrays with short keys and strings that need
    /// escapes.
    fn value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-z\\\"\n é]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z\"]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn splicing_equals_serializing_afresh_for_any_object(
            entries in proptest::collection::btree_map("[a-z\"]{0,4}", value(), 0..6),
            key in "[a-z\"]{0,4}",
            v in value(),
        ) {
            let obj = Value::Object(entries.into_iter().collect());
            let text = pretty(&obj).unwrap();
            proptest::prop_assert_eq!(pretty_with_entry(&text, &key, &v).unwrap(), reference(&obj, &key, &v));
        }
    }
}
