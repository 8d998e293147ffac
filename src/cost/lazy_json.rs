//! Embedded JSON parsed on first use. The kernel tables are compiled in (`include_str!`) and a
//! solve reads a small part of them (one engine of a profile, one precision's grouped-MoE classes,
//! one of the MLA module's eight grids), so each such part is kept as raw JSON borrowed from the
//! embedded text (no copy) and deserialized the first time it is asked for. Borrowing means a
//! [`Lazy`] only deserializes from `'static` text, which every embedded table is.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::OnceLock;

/// What a value does once after it is parsed (fill cached logarithms, say); nothing by default.
pub trait Prepare: Sized {
    fn prepare(self) -> Self {
        self
    }
}

/// One JSON value parsed and prepared on first use; absent when the field was missing
/// (`#[serde(default)]`).
#[derive(Clone, Debug, Default)]
pub struct Lazy<T> {
    raw: Option<&'static str>,
    parsed: OnceLock<Option<T>>,
}

impl<T> Lazy<T> {
    /// The JSON text `raw` (a whole embedded file, say), parsed on first use.
    pub fn new(raw: &'static str) -> Lazy<T> {
        Lazy {
            raw: Some(raw),
            parsed: OnceLock::new(),
        }
    }
}

impl<'de: 'static, T> Deserialize<'de> for Lazy<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lazy<T>, D::Error> {
        Ok(Lazy {
            raw: Some(<&'static RawValue>::deserialize(d)?.get()),
            parsed: OnceLock::new(),
        })
    }
}

impl<T: Deserialize<'static> + Prepare> Lazy<T> {
    /// Parse afresh: `Ok(None)` when absent (for the tests that keep the tables valid).
    pub fn parse(&self) -> Result<Option<T>, String> {
        self.raw
            .map(|raw| serde_json::from_str::<T>(raw).map(T::prepare))
            .transpose()
            .map_err(|e| e.to_string())
    }

    /// The value (`None`: absent, or its JSON does not parse, which [`Lazy::parse`] reports).
    pub fn get(&self) -> Option<&T> {
        self.parsed.get_or_init(|| self.parse().ok().flatten()).as_ref()
    }
}
