//! Reading a task file from disk: Markdown or JSON, detected by content.
//!
//! * The file must be UTF-8 text: invalid UTF-8 or NUL bytes (binary garbage) are
//!   [`Error::Parse`] naming the line of the first bad byte, never a panic.
//! * JSON when the first non-blank character is `{`: deserialized with serde into [`RawTask`]
//!   (`deny_unknown_fields`); a syntax error, an unknown key or a wrong type is [`Error::Json`]
//!   with line, column and the dotted path of the key (`hardware.memory_bytes`). Negative and
//!   non-finite numbers are rejected the same way as in Markdown. Every field that is set is
//!   echoed in [`ParsedTask::fields`] with line 0 and its dotted path as label.
//! * Anything else is Markdown ([`crate::markdown::parse_markdown`]).

use crate::error::{Error, Result};
use crate::markdown::{FieldRead, ParsedTask, parse_markdown};
use crate::task::RawTask;
use serde_json::Value;
use std::path::Path;

/// Read and parse a task file (Markdown or JSON).
pub fn load_task(path: &Path) -> Result<ParsedTask> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.display().to_string();
    let text = decode(&name, &bytes)?;
    parse_task_text(&name, text)
}

/// Parse task text already in memory; `path` is only used in messages.
pub fn parse_task_text(path: &str, text: &str) -> Result<ParsedTask> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim_start().starts_with('{') {
        parse_json(path, body)
    } else {
        parse_markdown(path, body)
    }
}

/// The bytes as UTF-8 text, or a parse error at the first bad byte.
fn decode<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str> {
    let bad = |offset: usize, what: &str| {
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Parse {
            path: path.to_string(),
            line,
            field: "(file)".into(),
            message: format!(
                "{what} at byte {offset}: this is not a text task file; expected a Markdown or JSON \
                 task in UTF-8"
            ),
        }
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(e.valid_up_to(), "invalid UTF-8"))?;
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        return Err(bad(i, "a NUL byte"));
    }
    Ok(text)
}

/// Parse a JSON task (DESIGN.md §1.2).
pub fn parse_json(path: &str, text: &str) -> Result<ParsedTask> {
    let json_err = |line: usize, column: usize, msg: String| {
        let at = key_path_at(text, line, column);
        let key = if at.is_empty() {
            String::new()
        } else {
            format!(" at `{at}`")
        };
        Error::Json {
            path: path.to_string(),
            message: format!("line {line}, column {column}{key}: {msg}"),
        }
    };
    let raw: RawTask = serde_json::from_str(text).map_err(|e| {
        // serde_json appends ` at line L column C`; the position is already in front.
        let msg = e.to_string();
        let msg = msg
            .rfind(" at line ")
            .map_or(msg.as_str(), |i| &msg[..i])
            .to_string();
        json_err(e.line(), e.column(), msg)
    })?;
    let value = serde_json::to_value(&raw)
        .map_err(|e| Error::Internal(format!("a RawTask did not serialize to JSON: {e}")))?;
    let mut fields = Vec::new();
    flatten(&value, "", &mut fields);
    for f in &fields {
        if f.text.starts_with('-') {
            return Err(Error::Json {
                path: path.to_string(),
                message: format!(
                    "`{}` is {}; expected a number that is not negative",
                    f.field, f.text
                ),
            });
        }
    }
    Ok(ParsedTask {
        raw,
        fields,
        warnings: Vec::new(),
    })
}

/// Echo every leaf of the serialized task as a field read at line 0.
fn flatten(v: &Value, prefix: &str, out: &mut Vec<FieldRead>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(x, &p, out);
            }
        }
        Value::Null => {}
        leaf => {
            let text = match leaf {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(FieldRead {
                line: 0,
                label: prefix.to_string(),
                text,
                field: prefix.to_string(),
            });
        }
    }
}

/// The dotted key path of the JSON value at (1-based line, column): `hardware.memory_bytes`.
/// A small scanner over the text; good enough for error messages, never fails.
fn key_path_at(text: &str, line: usize, column: usize) -> String {
    // Byte offset of the error position.
    let mut offset = text.len();
    let mut cur_line = 1;
    for (i, c) in text.char_indices() {
        if cur_line == line {
            offset = (i + column.saturating_sub(1)).min(text.len());
            break;
        }
        if c == '\n' {
            cur_line += 1;
        }
    }
    // Stack of containers: Some(key) for objects (the current key, empty before it is read),
    // None for arrays.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut pending_key: Option<String> = None;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() && i < offset {
        match b[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if let Some(Some(k)) = stack.last()
                    && k.is_empty()
                {
                    pending_key = text.get(start..i.min(b.len())).map(str::to_string);
                }
            }
            b':' => {
                if let (Some(Some(k)), Some(p)) = (stack.last_mut(), pending_key.take()) {
                    *k = p;
                }
            }
            b'{' => stack.push(Some(String::new())),
            b'[' => stack.push(None),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(Some(k)) = stack.last_mut() {
                    k.clear();
                }
            }
            _ => {}
        }
        i += 1;
    }
    // An unknown key is reported right after the key, before its `:`.
    let mut parts: Vec<String> = stack.into_iter().flatten().filter(|k| !k.is_empty()).collect();
    parts.extend(pending_key);
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_of_unknown_and_wrong_type() {
        let t = "{\n  \"hardware\": {\n    \"memory_bytes\": \"64GB\"\n  }\n}";
        let e = parse_json("t.json", t).unwrap_err().to_string();
        assert!(e.contains("hardware.memory_bytes"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        let t = "{\"model\": {\"layers\": 4, \"colour\": 3}}";
        let e = parse_json("t.json", t).unwrap_err().to_string();
        assert!(e.contains("model.colour") && e.contains("unknown field"), "{e}");
    }
}
