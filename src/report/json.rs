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
