//! The JSON writer: any typed result (a phase plan, a comparison) as pretty JSON with sorted keys.

use crate::error::{Error, Result};
use serde::Serialize;

/// Pretty JSON with a trailing newline. Keys are sorted (serde_json's map is a `BTreeMap`), so the
/// bytes depend on the values only, never on struct field order.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    let v = serde_json::to_value(value).map_err(|e| Error::Internal(format!("JSON of a result: {e}")))?;
    let mut s =
        serde_json::to_string_pretty(&v).map_err(|e| Error::Internal(format!("JSON of a result: {e}")))?;
    s.push('\n');
    Ok(s)
}
