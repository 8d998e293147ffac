//! Numbers with units as people write them in task files, converted once to SI.
//!
//! Every parser takes the free text after a label (`400TFlops.`, `The hidden is of FFN is 1536`)
//! and returns the value in the unit of the field it feeds:
//!
//! | quantity | accepted spellings (case-insensitive unless noted) | result |
//! |---|---|---|
//! | compute ([`flops`]) | `400TFlops`, `1.2 PFLOPS`, `989 TFLOP/s`, `400 GFlops`, `400 TOPS`, `4e14` | FLOP/s |
//! | memory ([`bytes`]) | `64GB`, `80 GiB`, `64 G`, `512MB`, `6.4e10` | bytes |
//! | bandwidth ([`bytes_per_s`]) | `1.8TBps`, `3.35 TB/s`, `2000GB/s`, `450 GBps`, `400Gbps`, `400 Gbit/s` | bytes/s |
//! | duration ([`seconds`]) | `30s`, `30 seconds`, `500ms`, `50 us`, `2 min`, `1 min 30 s` | seconds |
//! | token rate ([`tokens_per_s`]) | `100tokens/ms`, `4000 tokens/s`, `4k tok/s`, `4000 tps`, `... per GPU` | tokens/s |
//! | request rate ([`requests_per_s`]) | `10 requests/s`, `10 req/s`, `600 requests/min`, `10 QPS`, `10 RPS` | requests/s |
//! | fraction ([`fraction`]) | `60%`, `0.6`; a bare number above 1 is read as a percentage (noted) | plain fraction |
//! | parameters ([`params`]) | `10B`, `235B`, `1.5T`, `70M`, `7e9`, `7 billion` | parameters |
//! | token length ([`tokens`]) | `2048`, `2k` (k = 1024 for lengths, noted), `10240 tokens` | tokens |
//! | count ([`count`]) | the first whole number in the text: `Each batch consists of 128 sequences`, `2,048`, `1k` (k = 1000), `152K`, `2M` | integer |
//!
//! Decimal prefixes are powers of 1000 (`GB` = 1e9 bytes, `TB/s` = 1e12 bytes/s); binary
//! prefixes are powers of 1024 (`GiB` = 2^30 bytes). In bandwidths a lowercase `b` after an
//! uppercase prefix (`Gbps`, `Gb/s`) and the word `bit` mean bits (divided by 8); `B` and an
//! all-lowercase unit (`gbps`) mean bytes. `NaN`, `inf`, negative numbers and units that belong to
//! another quantity (`64 tokens/s` as a memory size) are errors whose message says what was
//! expected. Plausibility (is 64 MB a sensible GPU?) is checked later, in `resolve`.

use crate::input::task::Dtype;

/// A number found in free text, with the byte range it occupies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    pub value: f64,
    /// Byte offset of the first character (the sign, if any).
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// Written with a `.` or an exponent (so not a whole number as written).
    pub fractional: bool,
    pub negative: bool,
}

/// All numbers in `text`, left to right. A digit glued to a preceding letter is part of a name
/// (`H100`, `FP8`, `Qwen3`) and is not a number; `-` right before a digit is a sign only at the
/// start or after a space or opening bracket (so `128-10240` is two numbers, `-5` is negative).
/// Digit groups `4,096` are read as one number when `groups` is set.
pub fn numbers(text: &str, groups: bool) -> Vec<Found> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i].1;
        let starts_digit = c.is_ascii_digit() || (c == '.' && i + 1 < n && chars[i + 1].1.is_ascii_digit());
        if !starts_digit {
            i += 1;
            continue;
        }
        let prev = if i > 0 { Some(chars[i - 1].1) } else { None };
        if prev.is_some_and(|p| p.is_alphanumeric() || p == '_') {
            // Glued to a name: skip the whole run of digits.
            while i < n && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '.') {
                i += 1;
            }
            continue;
        }
        let mut negative = false;
        let mut start = chars[i].0;
        if let Some(p) = prev
            && (p == '-' || p == '\u{2212}')
        {
            let before = if i >= 2 { Some(chars[i - 2].1) } else { None };
            if before.is_none_or(|b| b.is_whitespace() || "([{:=,;".contains(b)) {
                negative = true;
                start = chars[i - 1].0;
            }
        }
        let (digits, fractional, j) = scan_digits(&chars, i, groups);
        let end = if j < n { chars[j].0 } else { text.len() };
        if let Ok(v) = digits.parse::<f64>() {
            out.push(Found {
                value: if negative { -v } else { v },
                start,
                end,
                fractional,
                negative,
            });
        }
        i = j.max(i + 1);
    }
    out
}

/// The digits of a number starting at `i` (integer part with optional digit groups, fraction,
/// exponent): the text to parse, whether it is fractional, and the index just past it.
fn scan_digits(chars: &[(usize, char)], i: usize, groups: bool) -> (String, bool, usize) {
    let n = chars.len();
    let mut digits = String::new();
    let mut fractional = false;
    let mut j = i;
    // Integer part with optional digit groups.
    while j < n {
        let ch = chars[j].1;
        if ch.is_ascii_digit() {
            digits.push(ch);
            j += 1;
        } else if groups
            && ch == ','
            && !digits.is_empty()
            && (1..=3).all(|k| j + k < n && chars[j + k].1.is_ascii_digit())
            && (j + 4 >= n || !chars[j + 4].1.is_ascii_digit())
        {
            j += 1;
        } else {
            break;
        }
    }
    if j < n && chars[j].1 == '.' && j + 1 < n && chars[j + 1].1.is_ascii_digit() {
        fractional = true;
        digits.push('.');
        j += 1;
        while j < n && chars[j].1.is_ascii_digit() {
            digits.push(chars[j].1);
            j += 1;
        }
    }
    if j < n && (chars[j].1 == 'e' || chars[j].1 == 'E') {
        let mut k = j + 1;
        let mut exp = String::from("e");
        if k < n && (chars[k].1 == '+' || chars[k].1 == '-') {
            exp.push(chars[k].1);
            k += 1;
        }
        if k < n && chars[k].1.is_ascii_digit() {
            while k < n && chars[k].1.is_ascii_digit() {
                exp.push(chars[k].1);
                k += 1;
            }
            digits.push_str(&exp);
            fractional = true;
            j = k;
        }
    }
    (digits, fractional, j)
}

/// Lowercase words of `text` (letters and digits), for keyword tests.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// True when `text` says "no value": `None`, `N/A`, `null`, `-`, `unlimited`, `no limit`,
/// `no requirement`, `not specified` ... and holds no number.
pub fn is_none_text(text: &str) -> bool {
    if !numbers(text, true).is_empty() {
        return false;
    }
    let t = text
        .trim()
        .trim_end_matches(['.', '!', ';'])
        .trim()
        .to_lowercase();
    if t.is_empty() || t == "-" || t == "—" || t == "n/a" || t == "/" {
        return true;
    }
    let w = words(&t);
    let first = w.first().map(String::as_str).unwrap_or("");
    matches!(
        first,
        "none" | "null" | "nil" | "na" | "unlimited" | "unspecified" | "unconstrained" | "off"
    ) || t.contains("no limit")
        || t.contains("no requirement")
        || t.contains("not required")
        || t.contains("not specified")
        || t.contains("no constraint")
}

/// Why a value was rejected; the caller adds file, line and field.
pub type UnitResult<T> = Result<T, String>;

fn non_finite_word(text: &str) -> Option<String> {
    let w = words(text);
    w.iter()
        .find(|w| matches!(w.as_str(), "nan" | "inf" | "infinity"))
        .map(|w| format!("`{w}` is not a finite number"))
}

/// The first number of `text` with the unit tokens that follow it.
/// Errors on no number, a non-finite number and a negative number, saying what was `expected`.
fn first_with_unit<'a>(text: &'a str, expected: &str) -> UnitResult<(Found, Vec<String>, &'a str)> {
    if let Some(m) = non_finite_word(text) {
        return Err(format!("{m}; expected {expected}"));
    }
    let Some(f) = numbers(text, true).into_iter().next() else {
        return Err(format!(
            "no number found in `{}`; expected {expected}",
            text.trim()
        ));
    };
    check_number(&f, expected)?;
    let rest = &text[f.end..];
    ambiguous_digits(&f, rest)?;
    Ok((f, unit_tokens(rest), rest))
}

/// A number written in a way pdplan would read as a smaller one: digit groups separated by a
/// space, a no-break / thin space or `_` (`1 024`, `1_024`: read as 1), a decimal comma (`1,28`:
/// read as 1) or a power (`2^10`: read as 2). `rest` is the text right after the number `f`.
fn ambiguous_digits(f: &Found, rest: &str) -> UnitResult<()> {
    let mut chars = rest.chars();
    let Some(sep) = chars.next() else {
        return Ok(());
    };
    let after: String = chars.clone().take_while(char::is_ascii_digit).collect();
    let next = chars.nth(after.len());
    let ends = next.is_none_or(|c| !c.is_ascii_digit() && c != '.');
    let shown = format!("{}{sep}{after}", f.value);
    match sep {
        ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '_' if after.len() == 3 && ends => Err(format!(
            "`{shown}` looks like one number with its digit groups separated by {}; write it \
             without them (`{}{after}`) or with commas (`{},{after}`)",
            if sep == '_' { "`_`" } else { "a space" },
            f.value,
            f.value
        )),
        ',' if (1..=2).contains(&after.len()) && ends && !f.fractional => Err(format!(
            "`{shown}`: a decimal comma is not read; write `{}.{after}` (a decimal point) or \
             `{}{after}` if it is one whole number",
            f.value, f.value
        )),
        ',' if after.len() >= 4 && ends => Err(format!(
            "`{shown}` holds two numbers (or digit groups that are not of 3 digits); give one"
        )),
        '^' if !after.is_empty() => Err(format!(
            "`{shown}`: powers are not read; write the value (`{}`)",
            f.value.powf(after.parse::<f64>().unwrap_or(1.0))
        )),
        _ => Ok(()),
    }
}

fn check_number(f: &Found, expected: &str) -> UnitResult<()> {
    if !f.value.is_finite() {
        return Err(format!(
            "the number is too large to be finite; expected {expected}"
        ));
    }
    if f.negative {
        return Err(format!("{} is negative; expected {expected}", f.value));
    }
    Ok(())
}

/// Unit tokens right after a number: runs of letters, `/`, `%`; `per` becomes `/`.
/// Stops at the first other character (digit, `.`, `,`, `(`, ...). Case is preserved.
fn unit_tokens(rest: &str) -> Vec<String> {
    let mut toks = Vec::new();
    let mut cur = String::new();
    for c in rest.chars() {
        if c.is_alphabetic() {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                toks.push(std::mem::take(&mut cur));
            }
            if c == '/' || c == '%' {
                toks.push(c.to_string());
            } else if c == ' ' || c == '\t' || c == '\u{a0}' {
                continue;
            } else {
                break;
            }
        }
    }
    if !cur.is_empty() {
        toks.push(cur);
    }
    toks.into_iter()
        .map(|t| {
            if t.eq_ignore_ascii_case("per") {
                "/".to_string()
            } else {
                t
            }
        })
        .collect()
}

/// Longest prefix of the unit tokens (joined without spaces) that `lookup` knows.
/// Returns the factor and the unit text matched (original case).
fn match_unit(toks: &[String], lookup: impl Fn(&str, &str) -> Option<f64>) -> Option<(f64, String)> {
    for k in (1..=toks.len().min(6)).rev() {
        let joined: String = toks[..k].concat();
        if let Some(f) = lookup(&joined.to_lowercase(), &joined) {
            return Some((f, joined));
        }
    }
    None
}

fn unit_words(toks: &[String]) -> String {
    toks.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
}

fn si_prefix(p: &str) -> Option<f64> {
    Some(match p {
        "" => 1.0,
        "k" | "kilo" => 1e3,
        "m" | "mega" => 1e6,
        "g" | "giga" => 1e9,
        "t" | "tera" => 1e12,
        "p" | "peta" => 1e15,
        "e" | "exa" => 1e18,
        _ => return None,
    })
}

fn byte_prefix(p: &str) -> Option<f64> {
    Some(match p {
        "ki" | "kibi" => 1024.0,
        "mi" | "mebi" => 1024f64.powi(2),
        "gi" | "gibi" => 1024f64.powi(3),
        "ti" | "tebi" => 1024f64.powi(4),
        "pi" | "pebi" => 1024f64.powi(5),
        _ => return si_prefix(p),
    })
}

/// Compute rate in FLOP/s: `400TFlops` → 4e14.
pub fn flops(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a compute rate such as `400TFlops` or `1.2 PFLOPS`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    let lookup = |u: &str, _: &str| {
        for body in [
            "flops", "flop/s", "flop/sec", "flop", "ops", "op/s", "flopss", "flops/s",
        ] {
            if let Some(p) = u.strip_suffix(body) {
                return si_prefix(p);
            }
        }
        // A bare prefix: `400 T`.
        if u.len() == 1 {
            si_prefix(u).filter(|&x| x > 1.0)
        } else {
            None
        }
    };
    scaled(f, &toks, lookup, EXP, 1e6)
}

/// Apply a matched unit, or accept a bare number of at least `bare_min` as already in SI units.
fn scaled(
    f: Found,
    toks: &[String],
    lookup: impl Fn(&str, &str) -> Option<f64>,
    expected: &str,
    bare_min: f64,
) -> UnitResult<f64> {
    match match_unit(toks, lookup) {
        Some((k, _)) => finite(f.value * k, expected),
        None if toks.is_empty() && f.value >= bare_min => finite(f.value, expected),
        None if toks.is_empty() => Err(format!("`{}` has no unit; expected {expected}", f.value)),
        None => Err(format!(
            "unit `{}` does not fit; expected {expected}",
            unit_words(toks)
        )),
    }
}

fn finite(v: f64, expected: &str) -> UnitResult<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("value is not finite; expected {expected}"))
    }
}

/// Memory size in bytes: `64GB` → 6.4e10, `80 GiB` → 80 · 2^30. `GB` = 1e9 bytes, `GiB` = 2^30.
pub fn bytes(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a memory size such as `64GB` or `80 GiB`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    scaled(f, &toks, |u, _| byte_unit(u), EXP, 1e6)
}

/// `gb`, `gib`, `gbyte`, `gigabytes`, `g`, `gbit` (→ /8) ... as a byte factor.
fn byte_unit(u: &str) -> Option<f64> {
    for (body, k) in [
        ("bytes", 1.0),
        ("byte", 1.0),
        ("bits", 0.125),
        ("bit", 0.125),
        ("b", 1.0),
    ] {
        if let Some(p) = u.strip_suffix(body) {
            return byte_prefix(p).map(|x| x * k);
        }
    }
    if u.len() == 1 || u.len() == 2 {
        byte_prefix(u).filter(|&x| x > 1.0)
    } else {
        None
    }
}

/// Bandwidth in bytes/s: `1.8TBps` → 1.8e12, `400Gbps` → 5e10 (bits), `2000GB/s` → 2e12.
pub fn bytes_per_s(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a bandwidth such as `1.8TBps`, `3.35 TB/s` or `400Gbps`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    let lookup = |u: &str, orig: &str| {
        let per = ["/s", "ps", "/sec", "/second", "/seconds"];
        let amount = per.iter().find_map(|s| u.strip_suffix(s))?;
        let k = byte_unit(amount)?;
        // Case rule: an uppercase prefix followed by a lowercase `b` means bits (Gbps, Tb/s).
        let orig_amount = orig.get(..amount.len()).unwrap_or("");
        let bits_by_case = orig_amount.chars().any(|c| c.is_uppercase())
            && orig_amount.ends_with('b')
            && !amount.ends_with("bytes")
            && !amount.ends_with("byte");
        Some(if bits_by_case { k / 8.0 } else { k })
    };
    scaled(f, &toks, lookup, EXP, 1e6)
}

fn time_unit(u: &str) -> Option<f64> {
    Some(match u {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1e-3,
        "us" | "µs" | "μs" | "usec" | "microsecond" | "microseconds" => 1e-6,
        "ns" | "nanosecond" | "nanoseconds" => 1e-9,
        "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        _ => return None,
    })
}

/// Duration in seconds: `30s` → 30, `500ms` → 0.5, `1 min 30 s` → 90. A bare number is an error
/// (seconds or milliseconds cannot be told apart), and so is a second duration that is not part
/// of a compound (`30s or 20s`, `2 s, TPOT 50 ms`, `30s (P99), 10s (P50)`: which one is meant
/// cannot be told).
pub fn seconds(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a duration with a unit such as `30s` or `50ms` (or `None`)";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    let first = scaled(f, &toks, |u, _| time_unit(u), EXP, f64::INFINITY)?;
    let unit = match_unit(&toks, |u, _| time_unit(u)).map_or(f64::INFINITY, |(k, _)| k);
    Ok(first + compound_rest(text, f.end, unit)?)
}

/// The later parts of a compound duration (`1 min 30 s` → the 30 s) after the first part, which
/// ends at byte `end` of `text` with a unit of `unit` seconds: each following number with a time
/// unit smaller than the one before, separated from it by its unit alone (or `and`). Another
/// number with a time unit is a second duration: an error.
fn compound_rest(text: &str, end: usize, mut unit: f64) -> UnitResult<f64> {
    let mut total = 0.0;
    let mut prev = end;
    for g in numbers(&text[end..], true) {
        let (start, g_end) = (end + g.start, end + g.end);
        let Some((k, _)) = match_unit(&unit_tokens(&text[g_end..]), |u, _| time_unit(u)) else {
            break;
        };
        let between: Vec<&str> = text[prev..start]
            .split_whitespace()
            .map(|w| w.trim_end_matches(','))
            .collect();
        // Only the previous part's unit (and an `and`) between the parts.
        let unit_alone = between
            .first()
            .is_some_and(|w| time_unit(&w.to_lowercase()).is_some());
        let joined = unit_alone
            && (between.len() == 1 || (between.len() == 2 && between[1].eq_ignore_ascii_case("and")));
        if g.negative || !joined || k >= unit {
            return Err(format!(
                "`{}` holds more than one duration; give one, such as `30s` (a compound such as \
                 `1 min 30 s` is read as one duration; put other requirements on their own lines)",
                text.trim()
            ));
        }
        total += g.value * k;
        unit = k;
        prev = g_end;
    }
    Ok(total)
}

/// `x/<time>` → 1/seconds of the time unit.
fn per_time(u: &str) -> Option<f64> {
    let t = u.strip_prefix('/')?;
    let t = t.strip_prefix('1').unwrap_or(t);
    time_unit(t).map(|s| 1.0 / s)
}

/// Strip a trailing `/gpu`, `/card`, `/npu`, `/device` (the rate is per GPU by the label).
fn strip_per_device(u: &str) -> &str {
    for s in ["/gpu", "/npu", "/card", "/device", "/chip"] {
        if let Some(x) = u.strip_suffix(s) {
            return x;
        }
    }
    u
}

/// Token rate in tokens/s: `100tokens/ms` → 1e5, `4000 tokens/s` → 4000.
pub fn tokens_per_s(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a token rate such as `4000 tokens/s` or `100tokens/ms`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    let lookup = |u: &str, _: &str| {
        let u = strip_per_device(u);
        if matches!(u, "tps" | "tok/s" | "toks/s") {
            return Some(1.0);
        }
        for body in ["tokens", "token", "toks", "tok"] {
            if let Some(i) = u.find(body) {
                let mult = si_prefix(&u[..i]).filter(|&m| m <= 1e6)?;
                return per_time(&u[i + body.len()..]).map(|r| mult * r);
            }
        }
        None
    };
    scaled(f, &toks, lookup, EXP, f64::INFINITY)
}

/// Request rate in requests/s: `10 requests/s`, `600 requests/min` → 10, `10 QPS`.
pub fn requests_per_s(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a request rate such as `10 requests/s`, `600 requests/min` or `10 QPS`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    let lookup = |u: &str, _: &str| {
        if matches!(u, "qps" | "rps" | "req/s" | "reqs/s") {
            return Some(1.0);
        }
        if matches!(u, "qpm" | "rpm") {
            return Some(1.0 / 60.0);
        }
        for body in ["requests", "request", "reqs", "req", "queries", "query"] {
            if let Some(r) = u.strip_prefix(body) {
                return per_time(r);
            }
        }
        None
    };
    scaled(f, &toks, lookup, EXP, f64::INFINITY)
}

/// A fraction in (0, 1] as written: `60%` → 0.6, `0.6` → 0.6. A bare number above 1 is read as
/// a percentage; the second value then says so (the caller warns).
pub fn fraction(text: &str) -> UnitResult<(f64, Option<String>)> {
    const EXP: &str = "a percentage such as `60%` or a fraction such as `0.6`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    match toks.first().map(|t| t.to_lowercase()) {
        Some(t) if t == "%" || t == "percent" => Ok((f.value / 100.0, None)),
        None if f.value <= 1.0 => Ok((f.value, None)),
        None => Ok((
            f.value / 100.0,
            Some(format!("`{}` has no `%`; read as {}%", text.trim(), f.value)),
        )),
        Some(_) => Err(format!(
            "unit `{}` does not fit; expected {EXP}",
            unit_words(&toks)
        )),
    }
}

/// A parameter count: `10B` → 1e10, `1.5T` → 1.5e12, `7e9` → 7e9, `70M`, `7 billion`.
pub fn params(text: &str) -> UnitResult<f64> {
    const EXP: &str = "a parameter count such as `10B`, `235B` or `7e9`";
    let (f, toks, _) = first_with_unit(text, EXP)?;
    let lookup = |u: &str, _: &str| {
        let u = u
            .strip_suffix("parameters")
            .or_else(|| u.strip_suffix("params"))
            .or_else(|| u.strip_suffix("param"))
            .unwrap_or(u);
        Some(match u {
            "k" | "thousand" => 1e3,
            "m" | "million" | "mn" => 1e6,
            "b" | "billion" | "bn" | "g" => 1e9,
            "t" | "trillion" | "tn" => 1e12,
            "" => 1.0,
            _ => return None,
        })
    };
    match match_unit(&toks, lookup) {
        Some((k, _)) => finite(f.value * k, EXP),
        // Words after a bare count (`7e9 in total`) are not a unit.
        None => finite(f.value, EXP),
    }
}

/// A whole number: the first number in the text (`Each batch consists of 128 sequences` → 128).
/// `expected` completes the message (`a layer count such as ...`).
/// Digit groups (`2,048`) and a `k` / `K` (×1000) or `M` (×10^6) right after the number
/// (`1k`, `152K`) are read.
pub fn count(text: &str, expected: &str) -> UnitResult<u64> {
    let (f, toks, _) = first_with_unit(text, expected)?;
    let mult = match toks.first().map(String::as_str) {
        Some("k" | "K") => 1e3,
        Some("M") => 1e6,
        _ => return whole(&f, expected),
    };
    let v = f.value * mult;
    whole(
        &Found {
            value: v,
            fractional: v.fract() != 0.0,
            ..f
        },
        expected,
    )
}

/// The number `f` as a whole number, or an error.
pub fn whole(f: &Found, expected: &str) -> UnitResult<u64> {
    check_number(f, expected)?;
    if f.value.fract() != 0.0 {
        return Err(format!("{} is not a whole number; expected {expected}", f.value));
    }
    if f.value > 9.0e15 {
        return Err(format!("{} is too large; expected {expected}", f.value));
    }
    Ok(f.value as u64)
}

/// A token length: `2048`, `2048 tokens`, `2k` (k = 1024 here: `32k context` is 32768).
/// Returns the value and a note when a `k` was expanded.
pub fn tokens_len(f: &Found, rest: &str, expected: &str) -> UnitResult<(u64, Option<String>)> {
    ambiguous_digits(f, rest)?;
    let toks = unit_tokens(rest);
    let first = toks.first().map(|t| t.to_lowercase());
    match first.as_deref() {
        Some("k") | Some("ktokens") => {
            let v = f.value * 1024.0;
            let found = Found {
                value: v,
                fractional: v.fract() != 0.0,
                ..*f
            };
            let n = whole(&found, expected)?;
            Ok((n, Some(format!("`{}k` read as {n} tokens (k = 1024)", f.value))))
        }
        Some("m") => Err(format!(
            "`{}M` tokens is not a sequence length; expected {expected}",
            f.value
        )),
        _ => Ok((whole(f, expected)?, None)),
    }
}

/// A numeric format: `FP8`, `FP16`, `BF16`, `FP32`, `INT8`, `INT4` (also `float16`, `bfloat16`,
/// `half`, `e4m3`). Returns each format named, in order of appearance.
pub fn dtypes(text: &str) -> Vec<(usize, Dtype)> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    let table: [(&str, Dtype); 21] = [
        ("bfloat16", Dtype::Bf16),
        ("bf16", Dtype::Bf16),
        ("float16", Dtype::Fp16),
        ("fp16", Dtype::Fp16),
        ("half", Dtype::Fp16),
        ("float8", Dtype::Fp8),
        ("fp8", Dtype::Fp8),
        ("e4m3", Dtype::Fp8),
        ("e5m2", Dtype::Fp8),
        ("float32", Dtype::Fp32),
        ("fp32", Dtype::Fp32),
        ("tf32", Dtype::Fp32),
        ("int8", Dtype::Int8),
        ("w8a8", Dtype::Int8),
        ("int4", Dtype::Int4),
        ("fp4", Dtype::Fp4),
        ("nvfp4", Dtype::Fp4),
        ("mxfp4", Dtype::Fp4),
        ("float4", Dtype::Fp4),
        ("w4a16", Dtype::Int4),
        ("w4a8", Dtype::Int4),
    ];
    let bytes = lower.as_bytes();
    for (name, d) in table {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let at = from + i;
            let end = at + name.len();
            // Whole words only: `bfloat16` is not `float16`, `fp16x` is not `fp16`.
            let left_ok = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            let right_ok = end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
            if left_ok && right_ok {
                found.push((at, d));
            }
            from = end;
        }
    }
    found.sort_by_key(|&(at, _)| at);
    found.dedup_by_key(|x| x.0);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn numbers_skip_names_and_read_signs() {
        let v: Vec<f64> = numbers("GPU H100 x 8, FP8, 16-layer, -5 and 7e9", true)
            .iter()
            .map(|f| f.value)
            .collect();
        assert_eq!(v, vec![8.0, 16.0, -5.0, 7e9]);
        let v: Vec<f64> = numbers("128-10240", true).iter().map(|f| f.value).collect();
        assert_eq!(v, vec![128.0, 10240.0]);
        let v: Vec<f64> = numbers("[128, 10240] 4,096", true)
            .iter()
            .map(|f| f.value)
            .collect();
        assert_eq!(v, vec![128.0, 10240.0, 4096.0]);
    }

    #[test]
    fn compute() {
        assert!(close(flops("400TFlops.").unwrap(), 4e14));
        assert!(close(flops("1.2 PFLOPS").unwrap(), 1.2e15));
        assert!(close(flops("989 TFLOPS").unwrap(), 9.89e14));
        assert!(close(flops("400 GFlops").unwrap(), 4e11));
        assert!(close(flops("989 TFLOP/s (dense)").unwrap(), 9.89e14));
        assert!(close(flops("4e14").unwrap(), 4e14));
        assert!(flops("400").is_err());
        assert!(flops("400 GB").unwrap_err().contains("expected a compute rate"));
        assert!(flops("NaN").unwrap_err().contains("finite"));
        assert!(flops("-400 TFLOPS").unwrap_err().contains("negative"));
    }

    #[test]
    fn memory() {
        assert!(close(bytes("64GB.").unwrap(), 64e9));
        assert!(close(bytes("80 GiB").unwrap(), 80.0 * 1024f64.powi(3)));
        assert!(close(bytes("64MB").unwrap(), 64e6));
        assert!(close(bytes("141 GB HBM3e").unwrap(), 141e9));
        assert!(
            bytes("64 tokens/s")
                .unwrap_err()
                .contains("expected a memory size")
        );
        assert!(bytes("inf GB").is_err());
        assert!(bytes("1e999 GB").is_err());
    }

    #[test]
    fn bandwidth() {
        assert!(close(bytes_per_s("1.8TBps.").unwrap(), 1.8e12));
        assert!(close(bytes_per_s("3.35 TB/s").unwrap(), 3.35e12));
        assert!(close(bytes_per_s("2000GB/s").unwrap(), 2e12));
        assert!(close(bytes_per_s("450 GBps").unwrap(), 450e9));
        assert!(close(bytes_per_s("400Gbps").unwrap(), 50e9));
        assert!(close(bytes_per_s("400 Gbit/s").unwrap(), 50e9));
        assert!(close(bytes_per_s("50 GB/s per GPU").unwrap(), 50e9));
        assert!(close(bytes_per_s("900 GB per second").unwrap(), 900e9));
        assert!(bytes_per_s("64GB").unwrap_err().contains("expected a bandwidth"));
    }

    #[test]
    fn durations() {
        assert!(close(seconds("30s").unwrap(), 30.0));
        assert!(close(seconds("500ms").unwrap(), 0.5));
        assert!(close(seconds("50 ms.").unwrap(), 0.05));
        assert!(close(seconds("2 min").unwrap(), 120.0));
        assert!(close(seconds("10 seconds").unwrap(), 10.0));
        assert!(seconds("30").unwrap_err().contains("has no unit"));
        assert!(seconds("30 GB").is_err());
    }

    #[test]
    fn rates() {
        assert!(close(tokens_per_s("100tokens/ms").unwrap(), 1e5));
        assert!(close(tokens_per_s("4000 tokens/s").unwrap(), 4000.0));
        assert!(close(tokens_per_s("4000 tokens/s/GPU").unwrap(), 4000.0));
        assert!(close(
            tokens_per_s("4000 tokens per second per GPU").unwrap(),
            4000.0
        ));
        assert!(close(tokens_per_s("4 ktokens/s").unwrap(), 4000.0));
        assert!(close(tokens_per_s("4000 tps").unwrap(), 4000.0));
        assert!(tokens_per_s("4000 requests/s").is_err());
        assert!(close(requests_per_s("10 requests/s").unwrap(), 10.0));
        assert!(close(requests_per_s("10 req/s").unwrap(), 10.0));
        assert!(close(requests_per_s("600 requests/min").unwrap(), 10.0));
        assert!(close(requests_per_s("10 QPS").unwrap(), 10.0));
        assert!(close(requests_per_s("10 requests per second").unwrap(), 10.0));
    }

    #[test]
    fn fractions_params_counts() {
        assert_eq!(fraction("60%.").unwrap(), (0.6, None));
        assert_eq!(fraction("0.6").unwrap(), (0.6, None));
        let (v, note) = fraction("60").unwrap();
        assert!(close(v, 0.6) && note.is_some());
        assert!(fraction("60 GB").is_err());
        assert!(close(params("10B").unwrap(), 1e10));
        assert!(close(params("235B").unwrap(), 235e9));
        assert!(close(params("1.5T").unwrap(), 1.5e12));
        assert!(close(params("7e9").unwrap(), 7e9));
        assert!(close(params("7 billion parameters").unwrap(), 7e9));
        assert_eq!(count("Each batch consists of 128 sequences.", "x").unwrap(), 128);
        assert_eq!(count("4,096", "x").unwrap(), 4096);
        assert!(count("12.5", "x").unwrap_err().contains("whole number"));
        assert!(count("abc", "a count").unwrap_err().contains("expected a count"));
    }

    #[test]
    fn none_and_dtypes() {
        assert!(is_none_text(" None"));
        assert!(is_none_text("N/A"));
        assert!(is_none_text("no requirement."));
        assert!(!is_none_text("None of 30s"));
        let d: Vec<Dtype> = dtypes("FP8").into_iter().map(|x| x.1).collect();
        assert_eq!(d, vec![Dtype::Fp8]);
        let d: Vec<Dtype> = dtypes("BF16 weights, fp8 KV").into_iter().map(|x| x.1).collect();
        assert_eq!(d, vec![Dtype::Bf16, Dtype::Fp8]);
        let d: Vec<Dtype> = dtypes("bfloat16").into_iter().map(|x| x.1).collect();
        assert_eq!(d, vec![Dtype::Bf16]);
        assert!(dtypes("FP64").is_empty());
    }
}
