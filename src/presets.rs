//! Model and GPU presets shipped in `models/`. Being written.
