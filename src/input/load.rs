//! Reading a task file from disk: Markdown or JSON, detected by content.
//!
//! * The file must be UTF-8 text: invalid UTF-8 or NUL bytes (binary garbage) are
//!   [`Error::Parse`] naming the line of the first bad byte, never a panic.
//! * JSON when the first non-blank character is `{`: deserialized with serde into [`RawTask`]
//!   (`deny_unknown_fields`); a syntax error, an unknown key or a wrong type is [`Error::Json`]
//!   with line, column and the dotted path of the key (`hardware.memory_bytes`). Negative and
//!   non-finite numbers are rejected the same way as in Markdown. Every field that is set is
//!   echoed in [`ParsedTask::fields`] with line 0 and its dotted path as label.
//! * Anything else is Markdown ([`crate::input::markdown::parse_markdown`]).

use crate::error::{Error, Result};
use crate::input::markdown::{FieldRead, ParsedTask, parse_markdown};
use crate::input::task::RawTask;
use serde_json::Value;
use std::path::Path;

pub use super::read::MAX_TASK_BYTES;

/// Read and parse a task file (Markdown or JSON).
pub fn load_task(path: &Path) -> Result<ParsedTask> {
    let bytes = read_limited(path, MAX_TASK_BYTES)?;
    let name = path.display().to_string();
    let text = decode(&name, &bytes)?;
    parse_task_text(&name, text)
}

/// The bytes of a regular file of at most `max` bytes ([`super::read::read_bounded`]: a folder,
/// FIFO, device or socket is refused before it is opened, a larger file after `max + 1` bytes).
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    super::read::read_bounded(path, max)
}

/// Parse task text already in memory; `path` is only used in messages.
pub fn parse_task_text(path: &str, text: &str) -> Result<ParsedTask> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = body.trim_start();
    if start.starts_with('[') && looks_like_json_array(start) {
        return Err(Error::Json {
            path: path.to_string(),
            message: "the file is a JSON array; a JSON task is one object `{\"hardware\": {...}, \
                      \"model\": {...}, \"workload\": {...}, \"requirements\": {...}}` (see \
                      `pdplan task FILE` for the form)"
                .into(),
        });
    }
    if start.starts_with('{') {
        parse_json(path, body)
    } else {
        parse_markdown(path, body)
    }
}

/// A JSON array (`[{...}]`), not a Markdown line that starts with `[` (`[TOC]`, a link).
fn looks_like_json_array(t: &str) -> bool {
    matches!(serde_json::from_str::<Value>(t), Ok(Value::Array(_)))
}

/// What to change for a serde_json error message.
fn json_hint(msg: &str) -> &'static str {
    if msg.starts_with("invalid type: sequence") {
        "a JSON array `[...]` is not expected here: write a single value (or, for a section, an \
         object `{...}`; see `pdplan task FILE` for the form)"
    } else if msg.starts_with("invalid type: map") {
        "a JSON object `{...}` is not expected here: write a single value (see `pdplan task FILE` \
         for the form)"
    } else if msg.contains("expected struct") {
        "write this section as a JSON object `{...}` of its keys (see `pdplan task FILE` for the \
         form)"
    } else if msg.starts_with("unknown field") {
        "remove the key or correct its spelling"
    } else if msg.starts_with("unknown variant") {
        "use one of the values listed"
    } else if msg.starts_with("invalid value: integer `-") {
        "write a whole number greater than 0, without a minus sign"
    } else if msg.contains("expected u64") {
        "write a whole number without quotes or unit (the unit is in the key name)"
    } else if msg.contains("expected f64") {
        "write a number without quotes or unit, in the SI unit of the key name (`memory_bytes`: \
         bytes, `ttft_s`: seconds)"
    } else if msg.contains("expected a boolean") {
        "write true or false"
    } else if msg.contains("expected a string") {
        "write the value in double quotes"
    } else if msg.starts_with("EOF while parsing") {
        "the file ends early: a closing `}` or `]` is missing, or the file was cut off"
    } else if msg.starts_with("trailing comma") {
        "remove the comma before the closing bracket"
    } else if msg.starts_with("expected value") {
        "a JSON value is a number, a string in double quotes, true, false, null, an object or an \
         array (no NaN, Infinity, comments or unquoted words)"
    } else if msg.starts_with("trailing characters") {
        "the task object ends before this point: remove what follows its closing `}`"
    } else if msg.starts_with("key must be a string") {
        "write keys in double quotes"
    } else if msg.contains("recursion limit") {
        "the JSON is nested too deeply to be a task"
    } else {
        "see `pdplan task FILE` on a working task for the expected form"
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
                "{what} at byte {offset}: expected a Markdown or JSON task in UTF-8 text; if this \
                 is the task, save the file as UTF-8"
            ),
        }
    };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(bad(0, "UTF-16 text (byte-order mark)"));
    }
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
            format!(", field `{at}`")
        };
        let hint = json_hint(&msg);
        Error::Json {
            path: path.to_string(),
            message: format!("line {line}, column {column}{key}: {msg}; {hint}"),
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
    flatten(&value, "", &key_lines(text), &mut fields);
    if let Some((field, number)) = first_negative(&value, "") {
        return Err(Error::Json {
            path: path.to_string(),
            message: format!(
                "field `{field}` is {number}; expected a number that is not negative: remove the \
                 minus sign"
            ),
        });
    }
    Ok(ParsedTask {
        raw,
        fields,
        warnings: Vec::new(),
        empty: Vec::new(),
    })
}

/// The first negative number in `v` (strings such as a model name are not numbers).
fn first_negative(v: &Value, prefix: &str) -> Option<(String, String)> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            first_negative(x, &p)
        }),
        Value::Number(n) if n.as_f64().is_some_and(|x| x.is_sign_negative()) => {
            Some((prefix.to_string(), n.to_string()))
        }
        _ => None,
    }
}

/// Echo every leaf of the serialized task as a field read, at the line of its key in the text
/// (0 when the key is not found, e.g. a value filled by serde's defaults).
fn flatten(
    v: &Value,
    prefix: &str,
    lines: &std::collections::HashMap<String, usize>,
    out: &mut Vec<FieldRead>,
) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(x, &p, lines, out);
            }
        }
        Value::Null => {}
        leaf => {
            let text = match leaf {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(FieldRead {
                line: lines.get(prefix).copied().unwrap_or(0),
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
    let (stack, pending_key) = scan_keys(text, offset, |_, _| {});
    // An unknown key is reported right after the key, before its `:`.
    let mut parts: Vec<String> = stack.into_iter().flatten().filter(|k| !k.is_empty()).collect();
    parts.extend(pending_key);
    parts.join(".")
}

/// The 1-based line of every key's value in a JSON text, by dotted path (first occurrence), so
/// that fields of a JSON task are echoed — and reported by `resolve` — with their line.
fn key_lines(text: &str) -> std::collections::HashMap<String, usize> {
    let mut lines = std::collections::HashMap::new();
    scan_keys(text, text.len(), |path, line| {
        lines.entry(path).or_insert(line);
    });
    lines
}

/// Scan JSON text up to byte `offset`, calling `on_key(dotted path, line)` at every `key:`;
/// returns the open containers (`Some(current key)` for objects, `None` for arrays) and a key
/// read but not yet followed by its `:`.
fn scan_keys(
    text: &str,
    offset: usize,
    mut on_key: impl FnMut(String, usize),
) -> (Vec<Option<String>>, Option<String>) {
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut pending_key: Option<String> = None;
    let b = text.as_bytes();
    let mut line = 1;
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
                    let path: Vec<&str> = stack.iter().flatten().map(String::as_str).collect();
                    on_key(path.join("."), line);
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
            b'\n' => line += 1,
            _ => {}
        }
        i += 1;
    }
    (stack, pending_key)
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
