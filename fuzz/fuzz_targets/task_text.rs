//! Arbitrary bytes as a task file: the loader (UTF-8 check, Markdown or JSON by content), the
//! Markdown parser, the JSON loader and the resolver must answer with a value or an error, never
//! a panic; an accepted task must round-trip through its JSON form unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pdplan::input::load::{parse_json, parse_task_text};
use pdplan::input::markdown::parse_markdown;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Each parser on its own, whatever the content looks like.
    let _ = parse_markdown("fuzz.md", text);
    let _ = parse_json("fuzz.json", text);
    let Ok(mut parsed) = parse_task_text("fuzz.md", text) else {
        return;
    };
    // A `config.json` path would read files of this machine: not what is fuzzed here.
    parsed.raw.model.hf_config = None;
    let Ok(resolved) = pdplan::spec::resolve::resolve("fuzz.md", parsed) else {
        return;
    };
    // Markdown -> task -> JSON -> task: unchanged.
    let json = serde_json::to_string_pretty(&resolved.task).expect("a task serializes");
    let again = parse_json("fuzz.json", &json).expect("the task's JSON loads");
    let again = pdplan::spec::resolve::resolve("fuzz.json", again).expect("the task's JSON resolves");
    assert_eq!(again.task, resolved.task, "round trip changed the task:\n{json}");
});
