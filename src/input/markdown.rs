//! Markdown deployment-condition parser (DESIGN.md §1.1).
//!
//! Reads a task file the way a person would: sections (`## **Environment Condition**`, ...),
//! code fences, `---` rules and `#inference` / `#Prefill` header lines are structure; every other
//! non-blank line is `* **Label**: free text with a number` (also `- Label: ...`, `**Label:** ...`,
//! `**Label** = value`, or a table row `| Label | value |`). Which labels exist, their aliases,
//! sections and units are one table, [`crate::input::fields::FIELDS`] (the README lists it).
//!
//! Rules (issue 14):
//! * a label matches a field by its whole text or an alias ([`fields::lookup`]), never by a word
//!   inside it; an unknown label is a warning and never sets a field;
//! * a heading sets the section only when it names a known section ([`fields::section`]); an
//!   unknown heading is a warning and the lines after it are read in no section;
//! * inside a strategy section (`Parallelism Strategy`, `Current Parallelism Strategy`, `Strategy
//!   Composition`) `GPUs` and `Batch size` are the strategy's; `Baseline` lines are not applied;
//! * a value written as a formula (`= EP × TP = 64 × 8 = 512`) is the number after the last `=`;
//!   a warning says so, and says the GPU count of a layout is not the product of its degrees when
//!   the formula multiplies them;
//! * `#Prefill` / `#Decode` header lines scope the `Throughput per GPU` lines that follow to that
//!   phase (TTFT is a prefill and TPOT a decode requirement whatever the header); `#inference`,
//!   `#task` or `#deployment` end the scope;
//! * a field set twice to the same value is accepted; to different values it is an error naming
//!   both lines;
//! * a value `None` / `N/A` / empty leaves the field unset and is echoed; a value that cannot be
//!   read (no number, `NaN`, `inf`, negative, a unit of another quantity, a reversed range) is
//!   [`Error::Parse`] naming file, line, field and what was expected;
//! * every field set is echoed in [`ParsedTask::fields`] with its line, label and text;
//! * a file with no field at all is [`Error::Missing`].
//!
//! The parser reads what is there: defaults, completeness and plausibility are
//! [`crate::spec::resolve`]'s.

use crate::error::{Error, Result};
use crate::input::fields::{self, FieldDef, Key, Section, Unit};
use crate::input::task::{AttentionKind, GivenStrategy, Mla, RawMoe, RawTask};
use crate::input::units::{self, Found, UnitResult};
use serde_json::Value;
use std::collections::HashMap;

/// One field read from a task file, echoed in every plan.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FieldRead {
    /// 1-based line number in the file (0 for JSON tasks).
    pub line: usize,
    /// The label as written (`Single-card computing power`).
    pub label: String,
    /// The value text as written (`400TFlops.`).
    pub text: String,
    /// The task field it set (`hardware.peak_flops_per_s`).
    pub field: String,
}

/// A parsed task file: the raw task, what was read, and warnings (unknown lines, ...).
#[derive(Clone, Debug, Default)]
pub struct ParsedTask {
    pub raw: RawTask,
    pub fields: Vec<FieldRead>,
    pub warnings: Vec<String>,
    /// Lines with a field's label and no value (`* **Batch size**:`): named when that field is
    /// then missing.
    pub empty: Vec<FieldRead>,
}

/// Field name used in [`FieldRead`] for header lines that set no field.
pub const HEADER_FIELD: &str = "(header)";

/// Parse a Markdown task. `path` is only used in messages.
pub fn parse_markdown(path: &str, text: &str) -> Result<ParsedTask> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = if !text.contains('\n') && text.contains('\r') {
        text.split('\r').collect()
    } else {
        text.split('\n').collect()
    };
    let mut p = Parser::new(path);
    for (i, line) in lines.iter().enumerate() {
        p.line(i + 1, line.trim_end_matches('\r'))?;
    }
    p.finish(lines.len())
}

/// The phase a `#Prefill` / `#Decode` header scopes requirements to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Prefill,
    Decode,
}

const MLA_FIELDS: [&str; 5] = [
    "model.mla.q_lora_rank",
    "model.mla.kv_lora_rank",
    "model.mla.qk_nope_head_dim",
    "model.mla.qk_rope_head_dim",
    "model.mla.v_head_dim",
];

/// Lowercase, every run of non-alphanumeric characters turned into one space, padded with spaces
/// so that `has(" word ")`-style tests see word boundaries. Used on values, never on labels.
fn norm(text: &str) -> String {
    let mut out = String::from(" ");
    for w in units::words(text) {
        out.push_str(&w);
        out.push(' ');
    }
    out
}

/// Value text in normalized form with word and phrase tests.
struct Words<'a>(&'a str);

impl Words<'_> {
    fn has(&self, p: &str) -> bool {
        // Without allocating: every line is matched against dozens of phrases.
        self.0
            .match_indices(p)
            .any(|(i, _)| self.0[..i].ends_with(' ') && self.0[i + p.len()..].starts_with(' '))
    }
    fn any(&self, ps: &[&str]) -> bool {
        ps.iter().any(|p| self.has(p))
    }
}

/// `#Prefill` → Some(Some(Prefill)); `#inference` → Some(None); other headings → None.
fn phase_header(heading: &str) -> Option<Option<Phase>> {
    match fields::canon(heading).as_str() {
        "prefill" | "prefill phase" | "prefill stage" => Some(Some(Phase::Prefill)),
        "decode" | "decode phase" | "decode stage" | "decoding" => Some(Some(Phase::Decode)),
        "inference" | "task" | "deployment condition" | "deployment" => Some(None),
        _ => None,
    }
}

/// A formula value (`EP × TP × PP = 64 × 8 × 2 = 1024`): the text after the last `=` when it
/// holds a number, and a warning. Other values are returned as they are.
fn formula(label: &str, v: &str) -> (String, Option<String>) {
    let Some(i) = v.rfind('=') else {
        return (v.to_string(), None);
    };
    let tail = v[i + 1..].trim();
    if units::numbers(tail, true).is_empty() || v[..i].trim().is_empty() {
        return (tail.to_string(), None);
    }
    let head = fields::canon(&v[..i]);
    let degrees = ["tp", "pp", "dp", "ep", "sp", "cp", "etp"];
    let multiplies =
        v[..i].contains(['×', '*', 'x', 'X']) && head.split(' ').filter(|w| degrees.contains(w)).count() >= 2;
    let mut note = format!(
        "`{label}` is written as a formula `{}`; the value after the last `=` ({tail}) is used",
        v.trim()
    );
    if multiplies {
        note.push_str(
            "; note that a layout's GPU count is not the product of all its degrees (EP and \
             expert-TP share the GPUs of TP × SP × attention-DP): `pdplan evaluate` checks the count",
        );
    }
    (tail.to_string(), Some(note))
}

struct Pending {
    line: usize,
    label: String,
    text: String,
    value: u64,
}

struct Parser<'a> {
    path: &'a str,
    /// `None`: before any section heading or after an unknown one.
    section: Option<Section>,
    phase: Option<Phase>,
    raw: RawTask,
    fields: Vec<FieldRead>,
    empty: Vec<FieldRead>,
    warnings: Vec<String>,
    /// (line of the last warning, warnings on it, warnings dropped), see [`Parser::warn`].
    warn_count: (usize, usize, usize),
    /// Task field → the line that first set it.
    seen: HashMap<String, usize>,
    /// `Hidden size of MOE/MLP/FFN` lines, mapped once the architecture is known.
    ffn: Vec<Pending>,
    /// What the `Layers` line said: Some(true) = MoE, Some(false) = dense; with its line.
    arch_moe: Option<(bool, usize)>,
    mla: [Option<(usize, u64)>; 5],
}

/// Clean a name value: trim, drop surrounding backticks/quotes and a trailing period.
fn clean_name(v: &str) -> String {
    let v = v.trim().trim_end_matches('.').trim();
    v.trim_matches(|c| c == '`' || c == '"' || c == '\'')
        .trim()
        .to_string()
}

/// Bytes around a number looked at for its neighbouring words: bounded, so that a line with
/// thousands of numbers is read in linear time (issue 15).
const WORD_WINDOW: usize = 64;

fn first_word_after(text: &str, from: usize) -> String {
    let mut end = (from + WORD_WINDOW).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    units::words(&text[from..end])
        .into_iter()
        .next()
        .unwrap_or_default()
}

fn last_word_before(text: &str, to: usize) -> String {
    let mut start = to.saturating_sub(WORD_WINDOW);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    units::words(&text[start..to]).pop().unwrap_or_default()
}

/// At most this many warnings per line, and per file; the rest are counted in one warning.
const MAX_WARNINGS_PER_LINE: usize = 5;
const MAX_WARNINGS: usize = 100;
/// Longest excerpt of a line quoted in a warning (characters).
const EXCERPT_CHARS: usize = 120;

/// `text` cut to [`EXCERPT_CHARS`] characters (with `…` when cut), for warnings.
fn excerpt(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..i])),
    }
}

/// `/model/moe/top_k` for `model.moe.top_k`.
fn pointer(field: &str) -> String {
    format!("/{}", field.replace('.', "/"))
}

impl<'a> Parser<'a> {
    fn new(path: &'a str) -> Self {
        Parser {
            path,
            section: None,
            phase: None,
            raw: RawTask::default(),
            fields: Vec::new(),
            empty: Vec::new(),
            warnings: Vec::new(),
            warn_count: (0, 0, 0),
            seen: HashMap::new(),
            ffn: Vec::new(),
            arch_moe: None,
            mla: [None; 5],
        }
    }

    fn err(&self, line: usize, field: &str, message: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.to_string(),
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn conv<T>(&self, line: usize, field: &str, r: UnitResult<T>) -> Result<T> {
        r.map_err(|m| self.err(line, field, m))
    }

    /// A warning, unless the line already has [`MAX_WARNINGS_PER_LINE`] or the file
    /// [`MAX_WARNINGS`]: then it is only counted, and one warning at the end says how many more
    /// there were (bounded output and linear time on lines with thousands of numbers).
    fn warn(&mut self, line: usize, msg: impl std::fmt::Display) {
        let (last, count, dropped) = &mut self.warn_count;
        if *last != line {
            *last = line;
            *count = 0;
        }
        *count += 1;
        if *count > MAX_WARNINGS_PER_LINE || self.warnings.len() >= MAX_WARNINGS {
            *dropped += 1;
            return;
        }
        self.warnings.push(format!("line {line}: {msg}"));
    }

    /// Record that `field` was read from `line` (repeats are checked in [`Self::check_repeats`]).
    fn echo(&mut self, line: usize, label: &str, text: &str, field: &str) {
        self.fields.push(FieldRead {
            line,
            label: label.to_string(),
            text: text.to_string(),
            field: field.to_string(),
        });
    }

    fn snapshot(&self) -> Result<Value> {
        self.image(&self.raw)
    }

    /// The JSON image of a task (the form repeated fields are compared in).
    fn image(&self, raw: &RawTask) -> Result<Value> {
        serde_json::to_value(raw).map_err(|e| self.err(0, "(task)", format!("internal: {e}")))
    }

    /// Set a task field by its path (`model.moe.top_k`) to a JSON value (`Null` = unset): the
    /// JSON image of the field's section (`model`) is edited and read back, not the whole task's.
    fn set(&mut self, line: usize, field: &str, value: Value) -> Result<()> {
        let (section, rest) = field.split_once('.').unwrap_or(("", field));
        let r = match section {
            "hardware" => set_path(&mut self.raw.hardware, rest, value),
            "model" => set_path(&mut self.raw.model, rest, value),
            "workload" => set_path(&mut self.raw.workload, rest, value),
            "requirements" => set_path(&mut self.raw.requirements, rest, value),
            "strategy" => set_path(&mut self.raw.strategy, rest, value),
            "cost" => set_path(&mut self.raw.cost, rest, value),
            _ => set_path(&mut self.raw, field, value),
        };
        r.map_err(|e| {
            self.err(
                line,
                field,
                format!("internal: value does not fit the field: {e}"),
            )
        })
    }

    fn moe(&mut self) -> &mut RawMoe {
        self.raw.model.moe.get_or_insert_with(RawMoe::default)
    }

    fn strat(&mut self) -> &mut GivenStrategy {
        self.raw.strategy.get_or_insert_with(GivenStrategy::default)
    }

    fn line(&mut self, n: usize, line: &str) -> Result<()> {
        let t = line.trim();
        if t.is_empty() || t.starts_with("```") || t.starts_with("~~~") {
            return Ok(());
        }
        if t.len() >= 3 && t.chars().all(|c| "-*_= \t".contains(c)) {
            return Ok(()); // horizontal rule
        }
        if let Some(h) = t.strip_prefix('#') {
            return self.heading(n, t, h.trim_start_matches('#'));
        }
        if let Some(row) = t.strip_prefix('|') {
            return self.table_row(n, t, row);
        }
        let mut s = t.trim_start_matches('>').trim_start();
        for bullet in ["* ", "- ", "+ ", "• ", "*\t", "-\t", "+\t"] {
            if let Some(r) = s.strip_prefix(bullet) {
                s = r.trim_start();
                break;
            }
        }
        if let Some(dot) = s.find(['.', ')'])
            && dot > 0
            && s[..dot].chars().all(|c| c.is_ascii_digit())
            && s[dot + 1..].starts_with([' ', '\t'])
        {
            s = s[dot + 1..].trim_start(); // numbered list
        }
        match split_label(s) {
            Some((label, value)) => self.field(n, t, &label, &value),
            None => {
                let name = s.replace(['*', '_', '`'], " ");
                match fields::section(&name).filter(|_| s.len() < 60) {
                    Some(sec) => self.section = Some(sec),
                    None => self.warn(n, format_args!("unrecognized line `{}` (ignored)", excerpt(t))),
                }
                Ok(())
            }
        }
    }

    /// `| Label | value |`; the separator and a `| Field | Value |` header are skipped.
    fn table_row(&mut self, n: usize, t: &str, row: &str) -> Result<()> {
        let cells: Vec<&str> = row.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        if cells.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
            return Ok(()); // table separator
        }
        let header = cells.len() == 2
            && matches!(fields::canon(cells[1]).as_str(), "value" | "values" | "setting")
            && fields::lookup(cells[0], false).is_none();
        if header {
            return Ok(());
        }
        if cells.len() >= 2 {
            let label = cells[0].replace(['*', '`'], "");
            return self.field(n, t, label.trim(), &cells[1..].join(" "));
        }
        self.warn(n, format_args!("unrecognized line `{}` (ignored)", excerpt(t)));
        Ok(())
    }

    fn heading(&mut self, n: usize, t: &str, h: &str) -> Result<()> {
        let name = h.replace(['*', '_', '`'], " ");
        if fields::canon(&name).is_empty() {
            return Ok(());
        }
        if let Some(phase) = phase_header(&name) {
            self.phase = phase;
            self.echo(n, "header", t, HEADER_FIELD);
            return Ok(());
        }
        self.section = fields::section(&name);
        if self.section.is_none() {
            self.warn(
                n,
                format!(
                    "unknown section `{}`; its lines are read as usual (not as a strategy)",
                    name.trim()
                ),
            );
        }
        Ok(())
    }

    fn field(&mut self, n: usize, line: &str, label: &str, value: &str) -> Result<()> {
        if self.section == Some(Section::Baseline) {
            let msg = format!(
                "`Baseline` section line `{}` is read but not used by pdplan",
                line.trim()
            );
            self.warn(n, msg);
            return Ok(());
        }
        if value.trim().is_empty()
            && let Some(sec) = fields::section(label)
        {
            self.section = Some(sec); // `Model Configuration:` used as a heading
            return Ok(());
        }
        let in_strategy = self.section == Some(Section::Strategy);
        let Some(def) = fields::lookup(label, in_strategy) else {
            let msg = format!(
                "unrecognized label `{label}` in `{}` (ignored: no task field has this label; \
                 README lists them)",
                line.trim()
            );
            self.warn(n, msg);
            return Ok(());
        };
        if value.trim().is_empty() {
            let msg = format!(
                "`{}` has no value (ignored; give one, or `None` where no limit is meant)",
                label.trim()
            );
            self.warn(n, msg);
            self.empty.push(FieldRead {
                line: n,
                label: label.trim().to_string(),
                text: String::new(),
                field: def.field.to_string(),
            });
            return Ok(());
        }
        let (value, note) = formula(label, value);
        if let Some(note) = note {
            self.warn(n, note);
        }
        // A typed copy: the task is serialized (before and after) only when the line sets a
        // field again, ~20x less work than two JSON images per line.
        let before = self.raw.clone();
        let mark = self.fields.len();
        self.apply(n, def, label.trim(), value.trim())?;
        self.check_repeats(n, mark, &before)
    }

    /// A field this line set that an earlier line set too: the same value is accepted, a
    /// different one is an error naming both lines. `before`: the task before the line.
    fn check_repeats(&mut self, n: usize, mark: usize, before: &RawTask) -> Result<()> {
        let mut images: Option<(Value, Value)> = None;
        for i in mark..self.fields.len() {
            let f = &self.fields[i];
            if f.field == HEADER_FIELD {
                continue;
            }
            let Some(&prev) = self.seen.get(&f.field) else {
                self.seen.insert(f.field.clone(), n);
                continue;
            };
            if prev == n {
                continue; // set twice by this same line
            }
            if images.is_none() {
                images = Some((self.image(before)?, self.snapshot()?));
            }
            let Some((before, after)) = &images else {
                unreachable!("set above")
            };
            let p = pointer(&f.field);
            let (old, new) = (before.pointer(&p), after.pointer(&p));
            let scalar = |v: Option<&Value>| v.is_none_or(|v| !v.is_object());
            if scalar(old) && scalar(new) && old != new {
                let first = self.fields.iter().find(|g| g.line == prev && g.field == f.field);
                let (l0, t0) = first.map_or(("?", "?"), |g| (g.label.as_str(), g.text.as_str()));
                let msg = format!(
                    "`{}` is given twice with different values: line {prev} (`{l0}`: `{t0}`) and \
                     line {n} (`{}`: `{}`); keep one of the two lines",
                    f.field, f.label, f.text
                );
                return Err(self.err(n, &f.field.clone(), msg));
            }
        }
        Ok(())
    }

    /// Echo a `None` value; true when the value was `None`.
    fn none(&mut self, n: usize, label: &str, v: &str, field: &str) -> bool {
        if units::is_none_text(v) {
            self.echo(n, label, v, field);
            true
        } else {
            false
        }
    }

    fn count(&self, n: usize, field: &str, v: &str, expected: &str) -> Result<u64> {
        self.conv(n, field, units::count(v, expected))
    }
}

/// What a whole-number field expects, for messages: `a whole number such as `8``.
fn expected(def: &FieldDef) -> String {
    format!("a {} such as `{}`", def.help, def.example)
}

impl Parser<'_> {
    fn apply(&mut self, n: usize, def: &'static FieldDef, label: &str, v: &str) -> Result<()> {
        use Key::*;
        match def.key {
            GpuCount => self.gpu_count(n, label, v),
            Layers => self.layers(n, label, v, true),
            ModelName => self.model_name(n, def, label, v),
            Engine => self.engine(n, def, label, v),
            BatchOverlap => self.batch_overlap(n, def, label, v),
            RoutingSkew => self.routing_skew(n, def, label, v),
            AttnKind => self.attn_kind_line(n, label, v),
            Dtype => self.dtype(n, label, v, false),
            KvDtype => self.dtype(n, label, v, true),
            AttnDims => self.attn_dims(n, label, v),
            FfnAmbiguous => self.ffn_ambiguous(n, def, label, v),
            Mla(i) => self.mla_line(n, label, v, i),
            LenRange => self.length_range(n, label, v),
            Throughput => self.throughput(n, label, v),
            StratGpus | StratBatch | Tp | Pp | Sp | Dp | AttnDp | Ep | Etp | Replicas => {
                self.degree(n, label, v, def.field)
            }
            _ => self.simple(n, def, label, v),
        }
    }

    /// `Engine: SGLang` → `cost.engine` = `sglang` (names as [`crate::input::task::Engine::parse`]
    /// reads them).
    fn engine(&mut self, n: usize, def: &FieldDef, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, def.field) {
            return self.set(n, def.field, Value::Null);
        }
        let Some(e) = crate::input::task::Engine::parse(&clean_name(v)) else {
            return Err(self.err(
                n,
                def.field,
                "an engine: vllm, sglang, trtllm, any or unrestricted",
            ));
        };
        self.echo(n, label, v, def.field);
        self.set(n, def.field, Value::String(e.name().into()))
    }

    /// `Batch overlap: SBO` → `cost.batch_overlap` = `single-batch` (names as
    /// [`crate::input::task::BatchOverlap::parse`] reads them; `none` means off here).
    fn batch_overlap(&mut self, n: usize, def: &FieldDef, label: &str, v: &str) -> Result<()> {
        use crate::input::task::BatchOverlap as O;
        let name = O::parse(&clean_name(v)).map(O::name);
        self.named(
            n,
            def,
            label,
            v,
            name,
            "a batch overlap: auto, two-batch, single-batch or off",
        )
    }

    /// `Routing skew: low` → `model.moe.routing_skew` (names as
    /// [`crate::input::task::RoutingSkew::parse`] reads them).
    fn routing_skew(&mut self, n: usize, def: &FieldDef, label: &str, v: &str) -> Result<()> {
        use crate::input::task::RoutingSkew as R;
        let name = R::parse(&clean_name(v)).map(R::name);
        self.named(
            n,
            def,
            label,
            v,
            name,
            "a routing skew: low (alpha 1.01) or high (alpha 1.2)",
        )
    }

    /// Set a field to the canonical `name` a value reads as, or fail with what was `expected`.
    fn named(
        &mut self,
        n: usize,
        def: &FieldDef,
        label: &str,
        v: &str,
        name: Option<&'static str>,
        expected: &str,
    ) -> Result<()> {
        let Some(name) = name else {
            return Err(self.err(n, def.field, format!("expected {expected}, not `{v}`")));
        };
        self.echo(n, label, v, def.field);
        self.set(n, def.field, Value::String(name.into()))
    }

    /// A field whose value is one number, name or yes/no: read by its unit, set by its path.
    fn simple(&mut self, n: usize, def: &FieldDef, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, def.field) {
            return self.set(n, def.field, Value::Null);
        }
        // A label that is itself the unit (`QPS: 10`, `Requests per second: 10`): a bare number
        // is in it.
        let unit_label = def.unit == Unit::RequestRate && {
            let l = label.to_ascii_lowercase();
            l.contains("qps") || l.contains("rps") || l.contains("per second")
        };
        let value = if unit_label && units::numbers(v, true).len() == 1 && v.trim().parse::<f64>().is_ok() {
            self.read(n, def, &format!("{} requests/s", v.trim()))?
        } else {
            self.read(n, def, v)?
        };
        self.echo(n, label, v, def.field);
        self.set(n, def.field, value)
    }

    fn read(&mut self, n: usize, def: &FieldDef, v: &str) -> Result<Value> {
        let f = def.field;
        let num = |x: f64| Value::from(x);
        Ok(match def.unit {
            Unit::Count => Value::from(self.count(n, f, v, &expected(def))?),
            Unit::Compute => num(self.conv(n, f, units::flops(v))?),
            Unit::Bytes => num(self.conv(n, f, units::bytes(v))?),
            Unit::Bandwidth => num(self.conv(n, f, units::bytes_per_s(v))?),
            Unit::Duration => num(self.conv(n, f, units::seconds(v))?),
            Unit::TokenRate => num(self.conv(n, f, units::tokens_per_s(v))?),
            Unit::RequestRate => num(self.conv(n, f, units::requests_per_s(v))?),
            Unit::Params => num(self.conv(n, f, units::params(v))?),
            Unit::Fraction => {
                let (x, note) = self.conv(n, f, units::fraction(v))?;
                if let Some(note) = note {
                    self.warn(n, format!("`{f}`: {note}"));
                }
                num(x)
            }
            Unit::Tokens => Value::from(self.length_value(n, f, v)?),
            Unit::Name => {
                let x = clean_name(v);
                if x.is_empty() {
                    return Err(self.err(n, f, "expected a name"));
                }
                Value::String(x)
            }
            Unit::YesNo => Value::Bool(self.yes_no(n, f, v)?),
            _ => return Err(self.err(n, f, format!("internal: unit {:?} has its own reader", def.unit))),
        })
    }

    /// `Ample GPU resources, no limits.` → no budget; `64` → a budget of 64.
    fn gpu_count(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        const FIELD: &str = "hardware.gpu_budget";
        let lower = v.to_lowercase();
        let unlimited = [
            "ample",
            "unlimited",
            "no limit",
            "infinite",
            "as many",
            "sufficient",
            "enough",
        ]
        .iter()
        .any(|w| lower.contains(w));
        if units::numbers(v, true).is_empty() {
            if unlimited || units::is_none_text(v) {
                self.echo(n, label, v, FIELD);
                self.raw.hardware.gpu_budget = None;
                return Ok(());
            }
            let r = units::count(v, "a GPU count such as `64` or `Ample GPU resources, no limits`");
            self.conv(n, FIELD, r)?;
        }
        if unlimited {
            let msg = format!("`{v}` says there is no limit; the number in it is not used as a GPU budget");
            self.warn(n, msg);
            self.echo(n, label, v, FIELD);
            self.raw.hardware.gpu_budget = None;
            return Ok(());
        }
        let x = self.count(n, FIELD, v, "a GPU count such as `64`")?;
        self.echo(n, label, v, FIELD);
        self.raw.hardware.gpu_budget = Some(x);
        Ok(())
    }

    fn yes_no(&self, n: usize, field: &str, v: &str) -> Result<bool> {
        let w = units::words(v);
        match w.first().map(String::as_str).unwrap_or("") {
            "yes" | "true" | "tied" | "on" | "y" | "1" | "enabled" | "swiglu" | "gated" => Ok(true),
            "no" | "false" | "untied" | "off" | "n" | "0" | "disabled" => Ok(false),
            _ => Err(self.err(n, field, format!("expected `yes` or `no`, found `{v}`"))),
        }
    }

    /// A strategy degree: the first number (`16`, also `TP16`, `tp=16`).
    fn degree(&mut self, n: usize, label: &str, v: &str, field: &'static str) -> Result<()> {
        let lower = v.to_lowercase();
        if self.none(n, label, v, field) || lower.trim().starts_with("disabled") {
            if !self.fields.iter().any(|f| f.field == field) {
                self.echo(n, label, v, field);
            }
            self.set_degree(field, None);
            return Ok(());
        }
        const EXP: &str = "a parallel degree such as `16`";
        let x = if units::numbers(v, true).is_empty() {
            // `TP16`: digits glued to the name.
            let digits: String = v
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if digits.is_empty() || units::words(v).iter().any(|w| w == "nan" || w == "inf") {
                return Err(self.err(n, field, format!("no number found in `{v}`; expected {EXP}")));
            }
            self.count(n, field, &digits, EXP)?
        } else {
            self.count(n, field, v, EXP)?
        };
        self.echo(n, label, v, field);
        self.set_degree(field, Some(x));
        Ok(())
    }

    fn set_degree(&mut self, field: &str, x: Option<u64>) {
        let g = self.strat();
        match field {
            "strategy.gpus" => g.gpus = x,
            "strategy.batch" => g.batch = x,
            "strategy.tp" => g.tp = x,
            "strategy.pp" => g.pp = x,
            "strategy.sp" => g.sp = x,
            "strategy.dp" => g.dp = x,
            "strategy.attention_dp" => g.attention_dp = x,
            "strategy.ep" => g.ep = x,
            "strategy.expert_tp" => g.expert_tp = x,
            _ => g.replicas = x,
        }
    }

    fn attention_kind(&mut self, n: usize, label: &str, v: &str) -> Option<AttentionKind> {
        let l = norm(v);
        let t = Words(&l);
        let kind = if t.any(&["mla", "latent"]) {
            AttentionKind::Mla
        } else if t.any(&["gqa", "grouped", "grouped query"]) {
            AttentionKind::Gqa
        } else if t.any(&["mqa", "multi query"]) {
            match self.raw.model.kv_heads {
                None => {
                    self.echo(n, label, v, "model.kv_heads");
                    self.raw.model.kv_heads = Some(1);
                }
                Some(k) if k != 1 => self.warn(
                    n,
                    format!(
                        "`{}` says multi-query attention (1 KV head), but the task gives {k} KV \
                         heads: using {k} (grouped-query attention); drop one of the two",
                        excerpt(v)
                    ),
                ),
                Some(_) => {}
            }
            AttentionKind::Gqa
        } else if t.any(&["mha", "multi head attention", "multihead attention", "multi head"]) {
            AttentionKind::Mha
        } else {
            return None;
        };
        self.echo(n, label, v, "model.attention");
        self.raw.model.attention = Some(kind);
        Some(kind)
    }

    fn attn_kind_line(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, "model.attention") || self.attention_kind(n, label, v).is_some() {
            return Ok(());
        }
        Err(self.err(
            n,
            "model.attention",
            format!("expected an attention kind (MHA, GQA, MQA or MLA), found `{v}`"),
        ))
    }

    /// `Model: 16-layer Mixture-of-Experts (MoE), Each layer has 64 experts` is a description:
    /// its counts are read like the `Layers` line and it names no model. Else a name.
    fn model_name(&mut self, n: usize, def: &FieldDef, label: &str, v: &str) -> Result<()> {
        let describes = units::numbers(v, true)
            .iter()
            .any(|f| first_word_after(v, f.end).starts_with("layer"));
        if describes {
            return self.layers(n, label, v, false);
        }
        self.simple(n, def, label, v)
    }

    /// The `Layers` line (and a describing `Model` line): `94-layer, Each layer includes GQA +
    /// MOE, each layer has 128 experts`; `61-layer, the first 3 layers are dense, ...`.
    /// `strict`: a line that says nothing readable is an error.
    fn layers(&mut self, n: usize, label: &str, v: &str, strict: bool) -> Result<()> {
        if self.none(n, label, v, "model.layers") {
            return Ok(());
        }
        let nums = units::numbers(v, true);
        if let Some(f) = nums.iter().find(|f| f.negative || !f.value.is_finite()) {
            let r = units::whole(f, "a layer count such as `94-layer`");
            self.conv(n, "model.layers", r)?;
        }
        let mut read_any = false;
        let mut have_layers = false;
        for (i, f) in nums.iter().enumerate() {
            let Some(field) = layer_number_field(v, f, i, have_layers) else {
                self.warn(
                    n,
                    format_args!("number {} in `{}` not understood (ignored)", f.value, excerpt(v)),
                );
                continue;
            };
            have_layers |= field == "model.layers";
            let x = self.conv(n, field, units::whole(f, "a whole number"))?;
            self.echo(n, label, v, field);
            read_any = true;
            self.set(n, field, Value::from(x))?;
        }
        read_any |= self.attention_kind(n, label, v).is_some();
        read_any |= self.architecture(n, label, v);
        if !read_any && strict {
            return Err(self.err(
                n,
                "model.layers",
                format!(
                    "expected a layer description such as `94-layer, Each layer includes GQA + MOE, \
                     each layer has 128 experts`, found `{v}`"
                ),
            ));
        }
        Ok(())
    }

    /// MoE or dense, from the words of a layer description; true when it says either.
    fn architecture(&mut self, n: usize, label: &str, v: &str) -> bool {
        let l = norm(v);
        let t = Words(&l);
        let moe = t.any(&["moe", "mixture of experts", "experts", "expert"]);
        let dense = t.any(&["mlp", "ffn", "dense", "feed forward", "feedforward", "swiglu"]);
        // `the first 3 layers are dense, the others MoE`: dense layers of a MoE model.
        let dense_only = dense && !moe;
        if moe || dense {
            self.echo(n, label, v, "model.moe");
            self.arch_moe = Some((!dense_only, n));
            if moe {
                self.moe();
            }
        }
        moe || dense
    }
}

/// Which field a number in a layer description sets: `94-layer` → layers, `the first 3 layers`
/// → dense layers, `128 experts` → experts, `top-8` → top-k, `1 shared` → shared experts.
fn layer_number_field(v: &str, f: &Found, i: usize, have_layers: bool) -> Option<&'static str> {
    let next = first_word_after(v, f.end);
    let prev = last_word_before(v, f.start);
    Some(
        if matches!(prev.as_str(), "first" | "leading" | "initial") || next == "dense" {
            "model.moe.dense_layers"
        } else if next.starts_with("layer") && !have_layers {
            "model.layers"
        } else if next == "shared" || prev == "shared" {
            "model.moe.shared_experts"
        } else if next.starts_with("activ") || prev == "top" || prev == "k" {
            "model.moe.top_k"
        } else if next.starts_with("expert") || next == "routed" {
            "model.moe.experts"
        } else if i == 0 && !have_layers {
            "model.layers"
        } else {
            return None;
        },
    )
}

/// Numbers of an attention line placed as (heads, head dim, KV heads), by the words around each.
fn place_heads<'f>(v: &str, nums: &'f [Found]) -> ([Option<&'f Found>; 3], Vec<&'f Found>) {
    let (mut heads, mut dim, mut kv) = (None, None, None);
    let mut unplaced = Vec::new();
    let mut prev_end = 0;
    for (i, f) in nums.iter().enumerate() {
        let seg_end = nums.get(i + 1).map_or(v.len(), |g| g.start);
        let next_words = units::words(&v[f.end..seg_end]);
        let next = next_words.first().map(String::as_str).unwrap_or("");
        let prev_seg = v[prev_end..f.start].to_lowercase();
        prev_end = f.end;
        if matches!(next, "kv" | "key") || prev_seg.contains("kv") || prev_seg.contains("key") {
            kv = Some(f);
        } else if next.starts_with("dim") || next == "size" {
            dim = Some(f);
        } else if next.starts_with("head") {
            heads = Some(f);
        } else if prev_seg.contains("dim") || prev_seg.contains("size") {
            dim = Some(f);
        } else if prev_seg.contains("head") {
            heads = Some(f);
        } else {
            unplaced.push(f);
        }
    }
    let mut rest = Vec::new();
    for f in unplaced {
        if heads.is_none() {
            heads = Some(f);
        } else if dim.is_none() {
            dim = Some(f);
        } else {
            rest.push(f);
        }
    }
    ([heads, dim, kv], rest)
}

impl Parser<'_> {
    /// `The number of heads is 64 and the dimension of each heads is 64`.
    fn attn_dims(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, "model.heads") {
            return Ok(());
        }
        if let Some(m) = units::words(v).iter().find(|w| *w == "nan" || *w == "inf") {
            return Err(self.err(n, "model.heads", format!("`{m}` is not a finite number")));
        }
        let nums = units::numbers(v, true);
        if nums.is_empty() {
            return Err(self.err(
                n,
                "model.heads",
                format!(
                    "expected heads and head dimension such as `The number of heads is 64 and the \
                     dimension of each heads is 64`, found `{v}`"
                ),
            ));
        }
        let (placed, rest) = place_heads(v, &nums);
        for f in rest {
            self.warn(
                n,
                format_args!("number {} in `{}` not understood (ignored)", f.value, excerpt(v)),
            );
        }
        const EXP: &str = "a whole number of heads or dimensions";
        for (f, field) in placed
            .iter()
            .zip(["model.heads", "model.head_dim", "model.kv_heads"])
        {
            let Some(f) = f else { continue };
            let x = self.conv(n, field, units::whole(f, EXP))?;
            self.echo(n, label, v, field);
            self.set(n, field, Value::from(x))?;
        }
        Ok(())
    }

    fn dtype(&mut self, n: usize, label: &str, v: &str, kv_only: bool) -> Result<()> {
        let first_field = if kv_only {
            "model.kv_cache_dtype"
        } else {
            "model.dtype"
        };
        if self.none(n, label, v, first_field) {
            return Ok(());
        }
        let found = units::dtypes(v);
        let Some(&(_, first)) = found.first() else {
            return Err(self.err(
                n,
                first_field,
                format!("expected a precision such as FP8, FP16, BF16, FP32, FP4, INT8 or INT4, found `{v}`"),
            ));
        };
        self.echo(n, label, v, first_field);
        if kv_only {
            self.raw.model.kv_cache_dtype = Some(first);
            return Ok(());
        }
        // `BF16 weights, FP8 KV cache`: a clause that mentions KV names the KV-cache format.
        let (mut weights, mut kv) = (None, None);
        for clause in v.split([',', ';', '(', ')']) {
            let Some(&(_, d)) = units::dtypes(clause).first() else {
                continue;
            };
            if units::words(clause).iter().any(|w| w == "kv" || w == "cache") {
                kv = kv.or(Some(d));
            } else {
                weights = weights.or(Some(d));
            }
        }
        let weights = weights.unwrap_or(first);
        self.raw.model.dtype = Some(weights);
        if let Some(kv) = kv {
            self.echo(n, label, v, "model.kv_cache_dtype");
            self.raw.model.kv_cache_dtype = Some(kv);
        } else if found.iter().any(|(_, d)| *d != weights) {
            let msg = format!(
                "several precisions in `{v}`; {} is used for the weights",
                weights.name()
            );
            self.warn(n, msg);
        }
        Ok(())
    }

    /// A length in tokens (`2048`, `2,048`, `2k` = 2048 with a note).
    fn length_value(&mut self, n: usize, field: &str, v: &str) -> Result<u64> {
        const EXP: &str = "a length in tokens such as `2048`";
        let f = self.first(n, field, v, EXP, true)?;
        let (x, note) = self.conv(n, field, units::tokens_len(&f, &v[f.end..], EXP))?;
        if let Some(note) = note {
            self.warn(n, format!("`{field}`: {note}"));
        }
        Ok(x)
    }

    /// The first number of `v`, after the NaN / inf / negative checks.
    fn first(&self, n: usize, field: &str, v: &str, expected: &str, groups: bool) -> Result<Found> {
        if let Some(m) = units::words(v)
            .iter()
            .find(|w| matches!(w.as_str(), "nan" | "inf" | "infinity"))
        {
            return Err(self.err(
                n,
                field,
                format!("`{m}` is not a finite number; expected {expected}"),
            ));
        }
        let Some(f) = units::numbers(v, groups).into_iter().next() else {
            return Err(self.err(n, field, format!("no number found in `{v}`; expected {expected}")));
        };
        self.conv(n, field, units::whole(&f, expected).map(|_| ()))?;
        Ok(f)
    }

    /// The numbers of a range: digit groups (`[128, 10,240]`) unless that leaves one number
    /// where a bracketed pair was meant (`[128,256]`).
    fn range_numbers(v: &str) -> Vec<Found> {
        let grouped = units::numbers(v, true);
        let plain = units::numbers(v, false);
        if grouped.len() == 1 && plain.len() == 2 && v.contains(['[', '(']) {
            plain
        } else {
            grouped
        }
    }

    /// `[128, 10240]`, `128 ~ 10240 tokens`, `128-10240`, `up to 10240`, or one number (both ends).
    fn length_range(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        const EXP: &str = "a length range such as `[128, 10240]` or `128 ~ 10240 tokens`";
        const MIN: &str = "workload.min_len";
        const MAX: &str = "workload.max_len";
        if units::is_none_text(v) {
            self.echo(n, label, v, MIN);
            self.echo(n, label, v, MAX);
            return Ok(());
        }
        self.first(n, MAX, v, EXP, true)?;
        let nums = Self::range_numbers(v);
        let mut vals = Vec::new();
        for (i, f) in nums.iter().take(2).enumerate() {
            let rest_end = nums.get(i + 1).map_or(v.len(), |g| g.start);
            let (x, note) = self.conv(n, MAX, units::tokens_len(f, &v[f.end..rest_end], EXP))?;
            if let Some(note) = note {
                self.warn(n, format!("`workload.max_len`: {note}"));
            }
            vals.push(x);
        }
        for f in nums.iter().skip(2) {
            self.warn(
                n,
                format_args!("number {} in `{}` not understood (ignored)", f.value, excerpt(v)),
            );
        }
        let lower = v.to_lowercase();
        let upper_only = ["up to", "at most", "max", "maximum", "≤", "<="]
            .iter()
            .any(|w| lower.contains(w))
            && !lower.contains("min");
        let (lo, hi) = match vals[..] {
            [one] if upper_only => (None, one),
            [one] => (Some(one), one),
            [lo, hi, ..] => (Some(lo), hi),
            [] => unreachable!("first() found a number"),
        };
        if let Some(lo) = lo
            && lo > hi
        {
            return Err(self.err(
                n,
                MIN,
                format!(
                    "the range [{lo}, {hi}] is reversed: the minimum length must be ≤ the maximum \
                     (write `[{hi}, {lo}]`)"
                ),
            ));
        }
        if let Some(lo) = lo {
            self.echo(n, label, v, MIN);
            self.raw.workload.min_len = Some(lo);
        }
        self.echo(n, label, v, MAX);
        self.raw.workload.max_len = Some(hi);
        Ok(())
    }

    /// `Throughput per GPU`: of both phases, or of the phase a `#Prefill` / `#Decode` header
    /// named above it.
    fn throughput(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        let field = match self.phase {
            None => "requirements.throughput_per_gpu_tokens_per_s",
            Some(Phase::Prefill) => "requirements.prefill_throughput_per_gpu_tokens_per_s",
            Some(Phase::Decode) => "requirements.decode_throughput_per_gpu_tokens_per_s",
        };
        if self.none(n, label, v, field) {
            return self.set(n, field, Value::Null);
        }
        let x = self.conv(n, field, units::tokens_per_s(v))?;
        self.echo(n, label, v, field);
        self.set(n, field, Value::from(x))
    }

    /// `Hidden size of MOE/MLP/FFN`: held until the model is known to be MoE or dense.
    fn ffn_ambiguous(&mut self, n: usize, def: &FieldDef, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, def.field) {
            return Ok(());
        }
        let value = self.count(n, def.field, v, &expected(def))?;
        self.ffn.push(Pending {
            line: n,
            label: label.into(),
            text: v.into(),
            value,
        });
        Ok(())
    }

    fn mla_line(&mut self, n: usize, label: &str, v: &str, i: usize) -> Result<()> {
        let field = MLA_FIELDS[i];
        if !self.none(n, label, v, field) {
            let x = self.count(n, field, v, "a rank or dimension such as `512`")?;
            self.echo(n, label, v, field);
            self.mla[i] = Some((n, x));
        }
        Ok(())
    }

    fn finish(mut self, line_count: usize) -> Result<ParsedTask> {
        self.place_ffn();
        if let Some((false, line)) = self.arch_moe
            && self.raw.model.moe.is_some()
        {
            self.warn(
                line,
                "the `Layers` line describes a dense model, but MoE fields are given",
            );
        }
        self.finish_mla()?;
        if self.fields.iter().all(|f| f.field == HEADER_FIELD) {
            let what = if line_count <= 1 && self.warnings.is_empty() {
                "the file is empty".to_string()
            } else {
                format!("no task field found in {line_count} lines")
            };
            return Err(Error::Missing {
                path: self.path.to_string(),
                field: "Environment Condition".into(),
                message: format!(
                    "{what}; expected the sections `Environment Condition`, `Model Configuration`, \
                     `Input Data` and `Basic Performance Requirements` with lines such as \
                     `* **Single-card computing power**: 400TFlops`"
                ),
            });
        }
        self.fields.sort_by_key(|f| f.line);
        if self.warn_count.2 > 0 {
            self.warnings.push(format!(
                "{} more warnings not shown (at most {MAX_WARNINGS_PER_LINE} per line and \
                 {MAX_WARNINGS} per file)",
                self.warn_count.2
            ));
        }
        Ok(ParsedTask {
            raw: self.raw,
            fields: self.fields,
            warnings: self.warnings,
            empty: self.empty,
        })
    }

    /// `Hidden size of MOE/MLP/FFN`: expert hidden size if the model is MoE, else dense FFN.
    fn place_ffn(&mut self) {
        for p in std::mem::take(&mut self.ffn) {
            let is_moe = match self.arch_moe {
                Some((moe, _)) => moe,
                None if self.raw.model.moe.is_some() => true,
                None => {
                    let mentions = units::words(&p.text)
                        .iter()
                        .any(|w| w == "moe" || w.starts_with("expert"));
                    let which = if mentions {
                        "an expert (MoE)"
                    } else {
                        "a dense FFN"
                    };
                    let msg = format!(
                        "no `Layers` line says whether the model is MoE; `{}` is read as {which} hidden size",
                        p.label
                    );
                    self.warn(p.line, msg);
                    mentions
                }
            };
            if is_moe {
                self.echo(p.line, &p.label, &p.text, "model.moe.expert_intermediate_size");
                self.moe().expert_intermediate_size = Some(p.value);
            } else {
                self.echo(p.line, &p.label, &p.text, "model.ffn_intermediate_size");
                self.raw.model.ffn_intermediate_size = Some(p.value);
            }
        }
    }

    fn finish_mla(&mut self) -> Result<()> {
        if self.mla.iter().all(Option::is_none) {
            return Ok(());
        }
        let missing: Vec<&str> = (0..5)
            .filter(|&i| self.mla[i].is_none())
            .map(|i| MLA_FIELDS[i])
            .collect();
        let line = self.mla.iter().flatten().map(|x| x.0).min().unwrap_or(0);
        if !missing.is_empty() {
            return Err(self.err(
                line,
                "model.mla",
                format!(
                    "MLA needs all of Q LoRA rank (0 = no query compression), KV LoRA rank, QK nope \
                     head dim, QK RoPE head dim and V head dim; missing: {}",
                    missing.join(", ")
                ),
            ));
        }
        let g = |i: usize| self.mla[i].map_or(0, |x| x.1);
        self.raw.model.mla = Some(Mla {
            q_lora_rank: g(0),
            kv_lora_rank: g(1),
            qk_nope_head_dim: g(2),
            qk_rope_head_dim: g(3),
            v_head_dim: g(4),
        });
        Ok(())
    }
}

/// Split `**Label**: value`, `**Label:** value`, `Label: value`, `**Label** value`,
/// `**Label** = value`.
fn split_label(s: &str) -> Option<(String, String)> {
    let clean = |x: &str| {
        x.replace(['*', '`'], "")
            .trim()
            .trim_matches('_')
            .trim()
            .to_string()
    };
    if let Some(rest) = s.strip_prefix("**")
        && let Some(close) = rest.find("**")
    {
        let inside = &rest[..close];
        let after = rest[close + 2..].trim_start();
        if let Some(label) = inside.trim_end().strip_suffix([':', '：']) {
            return Some((clean(label), clean_value(after)));
        }
        if let Some(v) = after.strip_prefix([':', '：']) {
            return Some((clean(inside), clean_value(v)));
        }
        if !after.is_empty() {
            return Some((clean(inside), clean_value(after)));
        }
        return None;
    }
    let idx = s.find([':', '：']).or_else(|| s.find('='))?;
    let label = clean(&s[..idx]);
    if label.is_empty() || label.chars().count() > 60 {
        return None;
    }
    let colon_len = s[idx..].chars().next().map_or(1, char::len_utf8);
    Some((label, clean_value(&s[idx + colon_len..])))
}

fn clean_value(v: &str) -> String {
    v.trim()
        .trim_start_matches('*')
        .trim_end_matches('*')
        .trim()
        .to_string()
}

/// Set the value at dotted `path` inside `target`'s JSON image (objects created on the way) and
/// read `target` back from it; `target` is unchanged when the result does not deserialize.
fn set_path<T: serde::Serialize + serde::de::DeserializeOwned>(
    target: &mut T,
    path: &str,
    value: Value,
) -> std::result::Result<(), serde_json::Error> {
    let mut root = serde_json::to_value(&*target)?;
    let mut cur = &mut root;
    for part in path.split('.') {
        if !cur.is_object() {
            *cur = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = cur else {
            unreachable!("made an object above")
        };
        cur = map.entry(part.to_string()).or_insert(Value::Null);
    }
    *cur = value;
    *target = serde_json::from_value(root)?;
    Ok(())
}
