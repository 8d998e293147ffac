//! The folder tree is the data flow (ARCHITECTURE.md): a stage may import an earlier stage, never a
//! later one, and no two modules import each other. This test reads every `use crate::…` and
//! `crate::…` path in `src/` (comments and strings stripped) and fails on a back-edge.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The stages in data-flow order; a module may import only its own stage, earlier stages, and the
/// common modules.
const STAGES: &[&str] = &[
    "input",
    "spec",
    "layout",
    "cost",
    "candidates",
    "ilp",
    "launch",
    "plan",
    "analysis",
    "report",
    "app",
];
/// Imported by every stage; they import no stage themselves.
const COMMON: &[&str] = &["error", "params"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text without comments, string and char literals (so doc links and messages that
/// mention `crate::…` are not imports); line breaks inside them are kept, so lines still count.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let (mut out, mut i) = (String::with_capacity(text.len()), 0);
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            out.extend(std::iter::repeat_n('\n', text[i..end].matches('\n').count()));
            i = end;
        } else if b[i] == b'r' && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#")) {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = text[start..]
                .find(&close)
                .map_or(b.len(), |e| start + e + close.len());
            out.extend(std::iter::repeat_n('\n', text[i..end].matches('\n').count()));
            i = end;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i = text[i + 2..].find('\'').map_or(b.len(), |e| i + 2 + e + 1);
        } else {
            let ch = text[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Top-level module a file belongs to (`None` for the crate root files).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first),
    }
}

/// Top-level modules named by `crate::` paths in stripped source, including `crate::{a, b}`.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (pos, _) in text.match_indices("crate::") {
        let rest = &text[pos + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                found.insert(ident(item));
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
    found
}

fn rank(module: &str) -> Option<usize> {
    STAGES.iter().position(|s| *s == module)
}

#[test]
fn no_import_from_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let Some(me) = module_of(&src, file) else { continue };
        let text = strip(&std::fs::read_to_string(file).expect("readable source"));
        for target in imported_modules(&text) {
            if target == me || COMMON.contains(&target.as_str()) && !COMMON.contains(&me.as_str()) {
                continue;
            }
            let ok = match (rank(&me), rank(&target)) {
                (Some(a), Some(b)) => b <= a,
                _ => false,
            };
            if !ok {
                problems.push(format!("{}: `{me}` imports `crate::{target}`", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "back-edges or unknown modules (stages in order: {STAGES:?}; common: {COMMON:?}):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_top_level_module_is_a_stage_or_common() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src/ is readable") {
        let path = entry.expect("entry").path();
        let Some(m) = module_of(&src, &path) else { continue };
        assert!(
            rank(&m).is_some() || COMMON.contains(&m.as_str()),
            "src/{m} is neither a stage nor common: add it to STAGES in data-flow order"
        );
    }
}

#[test]
fn the_scanner_sees_grouped_and_inline_paths_but_not_comments() {
    let text = strip(
        "use crate::{spec::task::Task, layout};\n// crate::app\nlet s = \"crate::ilp\"; crate::cost::x();",
    );
    let got: Vec<String> = imported_modules(&text).into_iter().collect();
    assert_eq!(got, ["cost", "layout", "spec"]);
}

/// Longest function allowed in `src/` (lines from `fn` to its closing brace).
const MAX_FN_LINES: usize = 80;

/// Functions that are data tables (one literal row per entry), exempt from the length limit.
const DATA_TABLES: &[(&str, &str)] = &[];

/// Functions still over the limit while their owners split them (issue 9); the list may only
/// shrink: the test fails when one of them is short now (remove it) or grows.
const BEING_SPLIT: &[(&str, &str, usize)] = &[];

/// `(name, first line, lines)` of every `fn` with a body in stripped source.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let t = t.strip_prefix("pub").map_or(t, |r| {
            let r = r.trim_start();
            r.strip_prefix('(')
                .and_then(|x| x.split_once(')'))
                .map_or(r, |(_, rest)| rest)
        });
        let t = ["const ", "async ", "unsafe ", "extern \"C\" "]
            .iter()
            .fold(t.trim_start(), |t, q| t.strip_prefix(q).unwrap_or(t));
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(n) = body_lines(&lines[i..]) {
            out.push((name, i + 1, n));
        }
    }
    out
}

/// Lines from a signature to the brace closing its body; `None` for a declaration without one.
fn body_lines(lines: &[&str]) -> Option<usize> {
    let mut depth = 0i64;
    let mut nesting = 0i64;
    let mut opened = false;
    for (k, line) in lines.iter().enumerate() {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                '(' | '[' if !opened => nesting += 1,
                ')' | ']' if !opened => nesting -= 1,
                ';' if !opened && nesting == 0 => return None,
                _ => {}
            }
            if opened && depth == 0 {
                return Some(k + 1);
            }
        }
    }
    None
}

#[test]
fn no_function_in_src_is_longer_than_80_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .expect("under src/")
            .to_string_lossy()
            .replace('\\', "/");
        let text = strip(&std::fs::read_to_string(file).expect("readable source"));
        for (name, line, n) in functions(&text) {
            if DATA_TABLES.contains(&(rel.as_str(), name.as_str())) {
                continue;
            }
            let known = BEING_SPLIT.iter().find(|(f, m, _)| *f == rel && *m == name);
            if let Some(&(_, _, was)) = known {
                seen.push((rel.clone(), name.clone()));
                if n > was {
                    problems.push(format!("src/{rel}:{line} `{name}` grew to {n} lines (was {was})"));
                } else if n <= MAX_FN_LINES {
                    problems.push(format!(
                        "src/{rel}:{line} `{name}` is {n} lines now: remove it from BEING_SPLIT"
                    ));
                }
            } else if n > MAX_FN_LINES {
                problems.push(format!("src/{rel}:{line} `{name}` is {n} lines > {MAX_FN_LINES}"));
            }
        }
    }
    for (f, m, _) in BEING_SPLIT {
        if !seen.iter().any(|(a, b)| a == f && b == m) {
            problems.push(format!("src/{f} `{m}` is gone: remove it from BEING_SPLIT"));
        }
    }
    assert!(
        problems.is_empty(),
        "function length (split along the section comments):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_length_scanner_counts_signature_to_closing_brace() {
    let text = strip(
        "fn a() {\n    let s = \"{\n}\";\n}\n\npub(crate) fn b(\n    x: [u8; 2],\n) -> u8 {\n    x\n}\nfn decl();\n",
    );
    let got = functions(&text);
    assert_eq!(got, [("a".to_string(), 1, 4), ("b".to_string(), 6, 5)]);
}
