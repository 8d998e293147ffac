//! Model and GPU presets shipped in `models/`. Being written.

/// Human listing of the presets (placeholder until the presets land).
pub fn listing() -> String {
    String::new()
}
