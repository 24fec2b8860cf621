//! The detail pane of the drill-down: everything one span says, as display lines wrapped to the
//! pane's width. Identity, the model call, its conversation, retrieved documents, tool input and
//! output, verdicts, events, links, logs, and last every raw attribute of the span and of its
//! resource. Also the one-line breadcrumb of the span's ancestry.
//!
//! Span content is untrusted. Every value goes through [`clean`] one line at a time (newlines
//! are kept, escape sequences and control characters are not), and credential-looking
//! attributes are redacted. Nothing is cut silently: long values wrap, and a value longer than
//! [`VALUE_CAP`] (or one past the detail's [`DETAIL_CAP`] in all) ends with a line saying how
//! many bytes were left out.
//!
//! Widths are measured per grapheme the way ratatui's buffer measures them
//! ([`CellWidth`], unicode-width underneath), so no line is wider than asked.

use crate::model::{Attr, LogRecord, SpanRecord, StatusCode, Value};
use crate::semconv::content::{self, Message};
use crate::semconv::secrets;
use crate::semconv::{CostSource, Semantics, Verdict};
use crate::store::Trace;
use crate::ui::text::{clean, fmt_clock, fmt_nanos, fmt_usd};
use crate::ui::theme::Theme;
use ratatui::buffer::CellWidth;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;

/// Most bytes of one value shown; what is left is counted on a line of its own.
pub const VALUE_CAP: usize = 64 * 1024;
/// Most bytes of values shown in one detail in all, so that a span with a thousand large
/// attributes stays cheap to lay out; later values are counted, not shown.
pub const DETAIL_CAP: usize = 1024 * 1024;
/// Width of the label column of `label  value` rows (labels are at most 11 columns).
const LABEL_W: usize = 12;
/// Indent of content under its label line.
const INDENT: usize = 2;
/// Extra indent of the continuation lines of an attribute value.
const HANG: usize = 4;

/// The detail of one span as display lines, wrapped to `width` columns (no line wider), never
/// cut silently: long values wrap; values over [`VALUE_CAP`] are shown up to the cap followed
/// by a line saying how many bytes were left out. A `width` below 4 is treated as 4.
///
/// Sections, each under a heading and omitted when empty: identity, LLM, conversation,
/// retrieved documents, tool, verdicts, events, links, logs, attributes, resource attributes.
pub fn detail_lines(trace: &Trace, span: &SpanRecord, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut d = Doc::new(width, theme);
    d.section("Identity", |d| identity(d, trace, span));
    if let Some(sem) = span.sem.as_deref().filter(|s| shows_llm(s)) {
        d.section("LLM", |d| llm(d, span, sem));
    }
    d.section("Conversation", |d| conversation(d, &content::conversation(span)));
    let docs = content::documents(span);
    d.section(&format!("Retrieved documents ({})", docs.len()), |d| {
        documents(d, &docs)
    });
    d.section("Tool", |d| tool(d, span));
    // Both a judge's verdict and the person's that overrides it are listed; the first marked.
    let overrides = crate::semconv::effective::Overrides::of(&trace.verdicts);
    let verdicts: Vec<(&Verdict, bool)> = (trace.verdicts.iter().enumerate())
        .filter(|(_, v)| trace.verdict_target(v).is_some_and(|t| t.span_id == span.span_id))
        .map(|(i, v)| (v, overrides.as_ref().is_some_and(|o| o.is_overridden(i))))
        .collect();
    d.section(&format!("Verdicts ({})", verdicts.len()), |d| {
        for &(v, overridden) in &verdicts {
            verdict(d, v, overridden);
        }
    });
    d.section(&format!("Events ({})", span.events.len()), |d| events(d, span));
    d.section(&format!("Links ({})", span.links.len()), |d| {
        links(d, trace, span)
    });
    let mut logs: Vec<&LogRecord> = trace
        .logs
        .iter()
        .filter(|l| l.span_id == Some(span.span_id))
        .collect();
    logs.sort_by_key(|l| l.event_time());
    d.section(&format!("Logs ({})", logs.len()), |d| {
        for l in &logs {
            log(d, l);
        }
    });
    d.section(&format!("Attributes ({})", span.attributes.len()), |d| {
        d.attrs(&span.attributes, 0);
    });
    let resource = &span.resource.attributes;
    d.section(&format!("Resource attributes ({})", resource.len()), |d| {
        d.attrs(resource, 0);
    });
    d.out
}

/// One-line breadcrumb of a span's ancestry: `root › agent › tool` (names cleaned, cut from the
/// left with `…` to fit `width`). The walk up the parent ids stops at a parent that has not
/// arrived (shown as `(missing)`) and at a cycle.
pub fn breadcrumbs(trace: &Trace, span: &SpanRecord, width: u16) -> String {
    let width = usize::from(width);
    if width == 0 {
        return String::new();
    }
    let mut names = vec![span_name(span)];
    let mut total = width_of(&names[0]);
    let mut seen = HashSet::from([span.span_id]);
    let mut cur = span;
    // Only the rightmost `width` columns can show: stop walking once they are filled.
    while total <= width
        && let Some(parent) = cur.parent_span_id
    {
        match trace.span(parent) {
            Some(p) if seen.insert(p.span_id) => {
                cur = p;
                names.push(span_name(p));
                total += width_of(&names[names.len() - 1]) + 3;
            }
            // A cycle: every span on it is named already.
            Some(_) => break,
            None => {
                names.push("(missing)".to_string());
                break;
            }
        }
    }
    names.reverse();
    fit_left(&names.join(" › "), width)
}

/// `s` cut from the left with `…` to at most `width` columns.
fn fit_left(s: &str, width: usize) -> String {
    if width_of(s) <= width {
        return s.to_string();
    }
    let span = Span::raw(s);
    let graphemes: Vec<&str> = span.styled_graphemes(Style::new()).map(|g| g.symbol).collect();
    let mut used = 1;
    let mut start = graphemes.len();
    while start > 0 {
        let w = usize::from(graphemes[start - 1].cell_width());
        if used + w > width {
            break;
        }
        used += w;
        start -= 1;
    }
    let mut out = String::from("…");
    out.extend(graphemes[start..].iter().copied());
    out
}

fn span_name(span: &SpanRecord) -> String {
    let name = clean(&span.name);
    if name.trim().is_empty() {
        "(unnamed)".to_string()
    } else {
        name.into_owned()
    }
}

// ---- sections ----

fn identity(d: &mut Doc, trace: &Trace, span: &SpanRecord) {
    let t = d.theme;
    d.row("name", &span.name, t.base);
    let kind = match span.sem.as_deref() {
        Some(s) => format!("{} · OTLP {}", s.kind.as_str(), span.kind.as_str()),
        None => format!("OTLP {}", span.kind.as_str()),
    };
    d.row("kind", &kind, t.base);
    let (status, style) = match span.status {
        StatusCode::Error => ("error", t.error),
        StatusCode::Ok => ("ok", t.ok),
        StatusCode::Unset => ("unset", t.muted),
    };
    match span.status_message.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(msg) => d.block(
            &[
                (label("status").as_str(), t.muted),
                (status, style),
                (": ", style),
            ],
            msg,
            style,
            0,
            LABEL_W,
        ),
        None => d.row("status", status, style),
    }
    d.row("trace id", &span.trace_id.to_string(), t.base);
    d.row("span id", &span.span_id.to_string(), t.base);
    match span.parent_span_id {
        None => d.row("parent", "root", t.muted),
        Some(p) => {
            let id = format!("{p}  ");
            let lbl = label("parent");
            match trace.span(p) {
                Some(ps) => d.block(
                    &[(lbl.as_str(), t.muted), (id.as_str(), t.base)],
                    &ps.name,
                    t.muted,
                    0,
                    LABEL_W,
                ),
                None => d.block(
                    &[(lbl.as_str(), t.muted), (id.as_str(), t.base)],
                    "missing parent",
                    t.warn,
                    0,
                    LABEL_W,
                ),
            }
        }
    }
    d.row(
        "start",
        &format!("{} UTC", fmt_time(span.start_unix_nano)),
        t.base,
    );
    d.row("duration", &fmt_nanos(span.duration_nanos()), t.base);
    d.row("service", span.service(), t.base);
    let scope = match &span.scope.version {
        Some(v) => format!("{}@{v}", span.scope.name),
        None => span.scope.name.to_string(),
    };
    if !scope.is_empty() {
        d.row("scope", &scope, t.base);
    }
    if let Some(sem) = span.sem.as_deref() {
        let rows: [(&str, Option<&str>); 6] = [
            ("session", sem.session.as_deref()),
            ("user", sem.user.as_deref()),
            ("agent", sem.agent.as_deref()),
            ("route", sem.route.as_deref()),
            ("tenant", sem.tenant.as_deref()),
            ("prompt", sem.prompt_version.as_deref()),
        ];
        for (name, value) in rows {
            if let Some(v) = value {
                d.row(name, v, t.base);
            }
        }
    }
    let tags = content::tags(span);
    if !tags.is_empty() {
        d.row("tags", &tags.join(", "), t.base);
    }
}

/// The LLM section is about model calls, and about any span that names a model or counts
/// tokens.
fn shows_llm(sem: &Semantics) -> bool {
    sem.kind.is_model_call() || sem.usage.is_some() || sem.model().is_some()
}

fn llm(d: &mut Doc, span: &SpanRecord, sem: &Semantics) {
    let t = d.theme;
    if let Some(p) = &sem.provider {
        d.row("provider", p, t.base);
    }
    match (&sem.request_model, &sem.response_model) {
        (Some(req), Some(resp)) if req != resp => {
            d.row("model", req, t.base);
            d.row("answered by", resp, t.base);
        }
        (Some(m), _) | (None, Some(m)) => d.row("model", m, t.base),
        (None, None) => {}
    }
    if let Some(op) = &sem.operation {
        d.row("operation", op, t.base);
    }
    if let Some(u) = sem.usage {
        let mut tokens = if u.input == 0 && u.output == 0 && u.total > 0 {
            format!("{} total", count(u.total))
        } else {
            format!("{} in · {} out", count(u.input), count(u.output))
        };
        for (what, n) in [
            ("cache read", u.cache_read),
            ("cache write", u.cache_write),
            ("reasoning", u.reasoning),
        ] {
            if n > 0 {
                let _ = write!(tokens, " · {what} {}", count(n));
            }
        }
        d.row("tokens", &tokens, t.base);
    }
    match (sem.cost_usd, sem.cost_source) {
        (Some(c), source) => {
            let from = match source {
                Some(CostSource::Span) => "  from the span",
                Some(CostSource::Table) => "  from the price table",
                None => "",
            };
            d.block(
                &[(label("cost").as_str(), t.muted), (usd(c).as_str(), t.base)],
                from,
                t.muted,
                0,
                LABEL_W,
            );
        }
        (None, _) if sem.unpriced => d.row("cost", "unpriced", t.warn),
        (None, _) => {}
    }
    if let Some(ttft) = sem.ttft_nanos {
        d.row("TTFT", &fmt_nanos(ttft), t.base);
    }
    if let Some(rate) = sem.output_tokens_per_sec(span.duration_nanos()) {
        d.row("output rate", &format!("{rate:.1} tokens/s"), t.base);
    }
    if let Some(s) = sem.streaming {
        d.row("streaming", if s { "yes" } else { "no" }, t.base);
    }
    if let Some(id) = &sem.response_id {
        d.row("response id", id, t.base);
    }
}

fn conversation(d: &mut Doc, conv: &content::Conversation) {
    for m in conv.system.iter().chain(&conv.input) {
        message(d, m, false);
    }
    for m in &conv.output {
        message(d, m, true);
    }
}

fn message(d: &mut Doc, m: &Message, response: bool) {
    let t = d.theme;
    let role = clean(m.role.trim());
    let role = if role.is_empty() { "(no role)".into() } else { role };
    let mut note = String::new();
    if response {
        note.push_str(" · response");
    }
    if let Some(id) = &m.tool_call_id {
        let _ = write!(note, " · result of call {id}");
    }
    d.block(
        &[(role.as_ref(), t.accent.add_modifier(Modifier::BOLD))],
        &note,
        t.muted,
        0,
        INDENT,
    );
    if !m.content.trim().is_empty() {
        d.block(&[], &pretty_or_raw(&m.content), t.base, INDENT, INDENT);
    }
    for call in &m.tool_calls {
        let name = if call.name.trim().is_empty() {
            "(unnamed)"
        } else {
            &call.name
        };
        let args = format!("{})", pretty_or_raw(&call.arguments));
        d.block(
            &[("→ ", t.muted), (name, t.accent), ("(", t.base)],
            &args,
            t.base,
            INDENT,
            INDENT,
        );
        if let Some(id) = call.id.as_deref().filter(|id| !id.is_empty()) {
            d.block(&[("id ", t.muted)], id, t.muted, INDENT + 2, INDENT + 2);
        }
    }
    if m.content.trim().is_empty() && m.tool_calls.is_empty() {
        d.block(&[], "(empty)", t.muted, INDENT, INDENT);
    }
}

fn documents(d: &mut Doc, docs: &[content::Document]) {
    let t = d.theme;
    for (i, doc) in docs.iter().enumerate() {
        let id = match doc.id.as_deref().filter(|id| !id.trim().is_empty()) {
            Some(id) => id.to_string(),
            None => format!("#{}", i + 1),
        };
        let score = doc.score.map_or(String::new(), |s| format!("  score {s:.2}"));
        d.block(&[(id.as_str(), t.accent)], &score, t.muted, 0, INDENT);
        if doc.content.trim().is_empty() {
            d.block(&[], "(no content)", t.muted, INDENT, INDENT);
        } else {
            d.block(&[], &pretty_or_raw(&doc.content), t.base, INDENT, INDENT);
        }
    }
}

fn tool(d: &mut Doc, span: &SpanRecord) {
    let t = d.theme;
    if let Some(name) = span.sem.as_deref().and_then(|s| s.tool.as_deref()) {
        d.row("name", name, t.base);
    }
    if let Some((input, output)) = content::tool_io(span) {
        for (what, text) in [("input", input), ("output", output)] {
            if text.trim().is_empty() {
                continue;
            }
            d.block(&[(what, t.muted)], "", t.base, 0, INDENT);
            d.block(&[], &pretty_or_raw(&text), t.base, INDENT, INDENT);
        }
    }
}

/// `groundedness  0.95  pass`, then label and source (the reviewer of a person's verdict, and
/// whether a person's verdict overrides this one), then the explanation.
fn verdict(d: &mut Doc, v: &Verdict, overridden: bool) {
    let t = d.theme;
    let score = v.score.map_or(String::new(), |s| format!("  {s:.2}"));
    let (word, style) = match v.passed {
        Some(true) => ("  pass", t.verdict_pass),
        Some(false) => ("  fail", t.verdict_fail),
        None => ("", t.muted),
    };
    let name: &str = &v.name;
    d.block(
        &[
            (name, t.base.add_modifier(Modifier::BOLD)),
            (score.as_str(), t.base),
        ],
        word,
        style,
        0,
        INDENT,
    );
    if v.is_human() {
        // A person's verdict: the same badge as in the tree.
        let badge = crate::ui::text::human_badge(v, crate::ui::text::ascii_glyphs());
        d.block(&[], &badge, style, INDENT, INDENT);
    }
    let mut about = match &v.label {
        Some(l) => format!("label {l} · source {}", v.source.as_str()),
        None => format!("source {}", v.source.as_str()),
    };
    if let Some(r) = v.reviewer.as_deref() {
        about.push_str(" · by ");
        about.push_str(r);
    }
    if overridden {
        about.push_str(" · overridden by a person's verdict");
    }
    d.block(&[], &about, t.muted, INDENT, INDENT);
    if let Some(e) = v.explanation.as_deref().filter(|e| !e.trim().is_empty()) {
        d.block(&[], e, t.base, INDENT, INDENT);
    }
}

fn events(d: &mut Doc, span: &SpanRecord) {
    let t = d.theme;
    let mut events: Vec<_> = span.events.iter().collect();
    events.sort_by_key(|e| e.time_unix_nano);
    for e in events {
        let at = offset(e.time_unix_nano, span.start_unix_nano);
        d.block(
            &[(at.as_str(), t.muted), ("  ", t.base)],
            &e.name,
            t.accent,
            0,
            INDENT,
        );
        d.attrs(&e.attributes, INDENT);
    }
}

/// `+120ms` from the span's start (`-3ms` before it, `?` without a time).
fn offset(at: u64, start: u64) -> String {
    match at {
        0 => "?".to_string(),
        at if at >= start => format!("+{}", fmt_nanos(at - start)),
        at => format!("-{}", fmt_nanos(start - at)),
    }
}

fn links(d: &mut Doc, trace: &Trace, span: &SpanRecord) {
    let t = d.theme;
    for l in span.links.iter() {
        let tid = l.trace_id.to_string();
        let sid = l.span_id.to_string();
        let note = if l.trace_id == span.trace_id {
            match trace.span(l.span_id) {
                Some(s) => format!("  this trace: {}", s.name),
                None => "  this trace".to_string(),
            }
        } else {
            String::new()
        };
        d.block(
            &[
                ("→ trace ", t.muted),
                (tid.as_str(), t.base),
                (" span ", t.muted),
                (sid.as_str(), t.base),
            ],
            &note,
            t.muted,
            0,
            INDENT,
        );
        d.attrs(&l.attributes, INDENT);
    }
}

fn log(d: &mut Doc, l: &LogRecord) {
    let t = d.theme;
    let time = format!("{}  ", fmt_time(l.event_time()));
    let (severity, style) = severity(l, t);
    let severity = if severity.is_empty() {
        severity
    } else {
        format!("{severity}  ")
    };
    let event = l.event_name.as_deref().unwrap_or_default();
    d.block(
        &[(time.as_str(), t.muted), (severity.as_str(), style)],
        event,
        t.accent,
        0,
        INDENT,
    );
    match &l.body {
        Value::Empty => {}
        Value::Str(_) | Value::Sym(_) => {
            let body = l.body.as_str().unwrap_or_default();
            if !body.trim().is_empty() {
                d.block(&[], &pretty_or_raw(body), t.base, INDENT, INDENT);
            }
        }
        other => d.block(&[], &pretty_or_raw(&value_text(other)), t.base, INDENT, INDENT),
    }
    d.attrs(&l.attributes, INDENT);
}

/// The severity as sent, else named from its number; styled by its number.
fn severity(l: &LogRecord, t: &Theme) -> (String, Style) {
    let n = l.severity_number;
    let named = match n {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    };
    let text = l
        .severity_text
        .as_deref()
        .map(|s| clean(s.trim()).into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| named.to_string());
    let style = match n {
        17.. => t.error,
        13..=16 => t.warn,
        _ => t.muted,
    };
    (text, style)
}

// ---- values ----

/// `12:03:04.250`: the UTC time of day with milliseconds.
fn fmt_time(unix_nano: u64) -> String {
    format!(
        "{}.{:03}",
        fmt_clock(unix_nano / 1_000_000_000),
        unix_nano / 1_000_000 % 1_000
    )
}

/// `12,345`: exact counts for the detail (the tables use `fmt_count`'s short form).
fn count(n: u64) -> String {
    crate::ui::text::fmt_thousands(n)
}

/// Dollars with three significant digits below a cent (a single call often costs a few
/// thousandths of a cent, which `fmt_usd` would show as `$0.0000`).
fn usd(c: f64) -> String {
    if c > 0.0 && c < 0.01 {
        let decimals = (2 - c.log10().floor() as i32).clamp(4, 12) as usize;
        format!("${c:.decimals$}")
    } else {
        fmt_usd(c)
    }
}

/// `label` padded to the label column.
fn label(label: &str) -> String {
    format!("{label:<w$}", w = LABEL_W)
}

/// An attribute value as text: strings as they are, scalars printed, arrays and maps as
/// compact JSON-like text (order kept), short bytes as hex.
pub(crate) fn value_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Str(s) => Cow::Borrowed(s),
        Value::Sym(s) => Cow::Borrowed(s),
        Value::Empty => Cow::Borrowed(""),
        Value::Bytes(b) if b.len() <= 64 => Cow::Owned(b.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })),
        other => {
            let mut out = String::new();
            write_value(other, &mut out);
            Cow::Owned(out)
        }
    }
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Str(_) | Value::Sym(_) => write_json_str(v.as_str().unwrap_or_default(), out),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(f) => {
            let _ = write!(out, "{f:?}");
        }
        Value::Bytes(b) => {
            let _ = write!(out, "<{} bytes>", b.len());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Map(attrs) => {
            out.push('{');
            for (i, a) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_str(&a.key, out);
                out.push_str(": ");
                write_value(&a.value, out);
            }
            out.push('}');
        }
        Value::Empty => out.push_str("null"),
    }
}

fn write_json_str(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str(s),
    }
}

/// What stands for a bulky value (an embedding vector, inline image data): its size.
fn bulky_summary(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{} values, not shown]", count(items.len() as u64)),
        Value::Bytes(b) => format!("<{} bytes, not shown>", count(b.len() as u64)),
        other => {
            let text = value_text(other);
            let head: String = text.chars().take(32).collect();
            if head.len() == text.len() {
                head
            } else {
                format!("{head}… ({} bytes, the rest not shown)", count(text.len() as u64))
            }
        }
    }
}

/// `text` pretty-printed when it is a JSON object or array, otherwise as it is.
fn pretty_or_raw(text: &str) -> Cow<'_, str> {
    crate::semconv::value::pretty_json(text).map_or(Cow::Borrowed(text), Cow::Owned)
}

/// One line of untrusted text made safe to print: a trailing CR dropped, tabs expanded,
/// escape sequences and control characters removed by [`clean`].
fn clean_line(line: &str) -> Cow<'_, str> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains('\t') {
        Cow::Owned(clean(&line.replace('\t', "    ")).into_owned())
    } else {
        clean(line)
    }
}

// ---- layout ----

/// The lines being built, with the width and what is left of the byte budget.
struct Doc<'t> {
    out: Vec<Line<'static>>,
    width: usize,
    theme: &'t Theme,
    /// Bytes of values that may still be shown (of [`DETAIL_CAP`]).
    budget: usize,
}

impl<'t> Doc<'t> {
    fn new(width: u16, theme: &'t Theme) -> Self {
        Doc {
            out: Vec::new(),
            width: usize::from(width).max(4),
            theme,
            budget: DETAIL_CAP,
        }
    }

    /// A heading, then what `body` adds; nothing at all when `body` adds nothing. A blank line
    /// separates sections.
    fn section(&mut self, title: &str, body: impl FnOnce(&mut Self)) {
        let mark = self.out.len();
        if mark > 0 {
            self.out.push(Line::default());
        }
        let header = self.theme.header;
        self.out.extend(wrap(&[(title, header)], self.width, 0, INDENT));
        let body_start = self.out.len();
        body(self);
        if self.out.len() == body_start {
            self.out.truncate(mark);
        }
    }

    /// `label       value` with the value wrapped under the value column.
    fn row(&mut self, name: &str, value: &str, style: Style) {
        let muted = self.theme.muted;
        self.block(&[(&label(name), muted)], value, style, 0, LABEL_W);
    }

    /// Attributes `key = value`, sorted by key, credentials redacted and bulky values
    /// summarised.
    fn attrs(&mut self, attrs: &[Attr], indent: usize) {
        let mut sorted: Vec<&Attr> = attrs.iter().collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        for a in sorted {
            self.attr(a, indent);
        }
    }

    fn attr(&mut self, a: &Attr, indent: usize) {
        let t = self.theme;
        let key: &str = &a.key;
        let prefix = [(key, t.muted), (" = ", t.muted)];
        let hang = indent + HANG;
        if content::is_bulky(key) {
            self.block(&prefix, &bulky_summary(&a.value), t.muted, indent, hang);
        } else {
            let text = value_text(&a.value);
            match content::redact(key, &text) {
                Some(r) => self.block(&prefix, &r, t.warn, indent, hang),
                None => self.block(&prefix, &text, t.base, indent, hang),
            }
        }
    }

    /// Untrusted `text` laid out after `prefix` (our own labels, cleaned all the same): cut to
    /// the byte budget, split at its newlines, each line cleaned and wrapped. The first line
    /// starts at `indent`, every other line (and every continuation) at `hang`, plus the
    /// line's own leading spaces for its continuations, so that indented text such as
    /// pretty-printed JSON stays readable.
    fn block(&mut self, prefix: &[(&str, Style)], text: &str, style: Style, indent: usize, hang: usize) {
        // Every untrusted text passes here (messages, documents, tool I/O, logs, attributes):
        // secret shapes in it are redacted before the cut, so no cut half-key shows.
        let redacted = secrets::redact_secrets(text);
        let text = redacted.as_deref().unwrap_or(text);
        let (shown, left_out, why) = self.take(text);
        let shown = shown.trim_end_matches(['\n', '\r']);
        let prefix: Vec<(Cow<'_, str>, Style)> = prefix.iter().map(|(s, st)| (clean(s), *st)).collect();
        for (i, raw) in shown.split(['\n', '\u{2028}', '\u{2029}']).enumerate() {
            let line = clean_line(raw);
            let lead = line.len() - line.trim_start_matches(' ').len();
            let mut pieces: Vec<(&str, Style)> = Vec::new();
            if i == 0 {
                pieces.extend(prefix.iter().map(|(s, st)| (s.as_ref(), *st)));
            }
            pieces.push((line.as_ref(), style));
            let (first, cont) = match (i, prefix.is_empty()) {
                (0, false) => (indent, hang),
                (0, true) => (indent, indent + lead),
                _ => (hang, hang + lead),
            };
            self.out.extend(wrap(&pieces, self.width, first, cont));
        }
        if left_out > 0 {
            let note = format!("… {} more bytes not shown ({why})", count(left_out as u64));
            self.out
                .extend(wrap(&[(&note, self.theme.muted)], self.width, hang, hang));
        }
    }

    /// The part of `text` that may be shown: at most [`VALUE_CAP`] bytes and what is left of
    /// the detail's budget, cut at a character boundary; with the bytes left out and why.
    fn take<'a>(&mut self, text: &'a str) -> (&'a str, usize, &'static str) {
        let cap = VALUE_CAP.min(self.budget);
        if text.len() <= cap {
            self.budget -= text.len();
            return (text, 0, "");
        }
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.budget -= end;
        let why = if cap == VALUE_CAP {
            "a value shows at most 64 KiB"
        } else {
            "the detail shows at most 1 MiB of values"
        };
        (&text[..end], text.len() - end, why)
    }
}

/// Display width of `s` as the buffer draws it: the sum of its graphemes' cell widths.
fn width_of(s: &str) -> usize {
    Span::raw(s)
        .styled_graphemes(Style::new())
        .map(|g| usize::from(g.symbol.cell_width()))
        .sum()
}

/// Runs of spaces and of anything else, in order, each with whether it is spaces.
fn runs(s: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let space = rest.starts_with(' ');
        let end = rest.find(|c: char| (c == ' ') != space).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some((run, space))
    })
}

/// One output line being filled.
struct Row {
    spans: Vec<Span<'static>>,
    /// Columns used after the indent, and columns available there.
    used: usize,
    room: usize,
}

impl Row {
    fn new(indent: usize, width: usize) -> Self {
        let spans = if indent > 0 {
            vec![Span::raw(" ".repeat(indent))]
        } else {
            Vec::new()
        };
        Row {
            spans,
            used: 0,
            room: width - indent,
        }
    }

    fn push(&mut self, s: &str, style: Style, w: usize) {
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.content.to_mut().push_str(s),
            _ => self.spans.push(Span::styled(s.to_string(), style)),
        }
        self.used += w;
    }

    /// Pending spaces, at most `max` columns of them.
    fn push_spaces(&mut self, pending: &mut Vec<(&str, Style)>, max: usize) {
        let mut left = max;
        for (s, style) in pending.drain(..) {
            let n = s.len().min(left);
            if n > 0 {
                self.push(&s[..n], style, n);
            }
            left -= n;
        }
    }

    fn finish(self) -> Line<'static> {
        if self.used == 0 {
            Line::default()
        } else {
            Line::from(self.spans)
        }
    }
}

/// Word-wraps one line of clean styled pieces (no newlines or control characters) into lines
/// no wider than `width`: the first after `indent` spaces, the rest after `hang` (each capped at
/// half the width). Breaks at spaces; a word longer than a line is broken between graphemes.
/// Leading spaces are kept on the first line only, and spaces at a break are dropped.
fn wrap(pieces: &[(&str, Style)], width: usize, indent: usize, hang: usize) -> Vec<Line<'static>> {
    let width = width.max(4);
    let indent = indent.min(width / 2);
    let hang = hang.min(width / 2);
    let mut lines = Vec::new();
    let mut row = Row::new(indent, width);
    let mut first_row = true;
    let mut pending: Vec<(&str, Style)> = Vec::new();
    let mut pending_w = 0;
    let mut break_line = |row: &mut Row, first_row: &mut bool| {
        let full = std::mem::replace(row, Row::new(hang, width));
        lines.push(full.finish());
        *first_row = false;
    };
    for &(text, style) in pieces {
        for (tok, space) in runs(text) {
            if space {
                if row.used > 0 || first_row {
                    pending.push((tok, style));
                    pending_w += tok.len();
                }
                continue;
            }
            let w = width_of(tok);
            if row.used + pending_w + w <= row.room {
                row.push_spaces(&mut pending, usize::MAX);
                row.push(tok, style, w);
            } else if row.used > 0 && w <= width - hang {
                break_line(&mut row, &mut first_row);
                pending.clear();
                row.push(tok, style, w);
            } else if row.used == 0 && w <= row.room {
                // Only leading spaces stand in the way: keep what fits of them.
                let keep = row.room - w;
                row.push_spaces(&mut pending, keep);
                row.push(tok, style, w);
            } else {
                // Longer than a line: start it on a line of its own and break it anywhere.
                if row.used > 0 {
                    break_line(&mut row, &mut first_row);
                    pending.clear();
                } else {
                    let keep = row.room / 4;
                    row.push_spaces(&mut pending, keep);
                }
                let span = Span::raw(tok);
                for g in span.styled_graphemes(Style::new()) {
                    let gw = usize::from(g.symbol.cell_width());
                    if row.used + gw > row.room && row.used > 0 {
                        break_line(&mut row, &mut first_row);
                    }
                    row.push(g.symbol, style, gw);
                }
            }
            pending_w = 0;
        }
    }
    lines.push(row.finish());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::CostTable;
    use crate::model::{ConvertLimits, Converter, SpanId};
    use crate::store::{StoreLimits, TraceStore};
    use std::sync::Arc;

    /// A store holding a fixture's traces, logs and verdicts, priced by the bundled table.
    fn store_of(fixture: &str) -> TraceStore {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
        let mut conv = Converter::new(
            ConvertLimits::default(),
            Arc::default(),
            Some(Arc::new(CostTable::bundled())),
        );
        let (mut spans, mut logs, mut verdicts) = (Vec::new(), Vec::new(), Vec::new());
        let traces = std::fs::read_to_string(format!("{dir}{fixture}.jsonl")).unwrap();
        for line in traces.lines().filter(|l| !l.trim().is_empty()) {
            conv.convert_traces(
                serde_json::from_str::<
                    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
                >(line)
                .unwrap(),
                &mut spans,
                &mut verdicts,
            );
        }
        if let Ok(text) = std::fs::read_to_string(format!("{dir}{fixture}.logs.jsonl")) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                conv.convert_logs(
                    serde_json::from_str::<
                        opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest,
                    >(line)
                    .unwrap(),
                    &mut logs,
                    &mut verdicts,
                );
            }
        }
        let mut store = TraceStore::new(StoreLimits::default());
        store.insert_spans(spans);
        store.insert_logs(logs);
        store.insert_verdicts(verdicts);
        store
    }

    /// The first span (with its trace) that `pred` accepts.
    fn find(store: &TraceStore, pred: impl Fn(&SpanRecord) -> bool) -> (&Trace, &SpanRecord) {
        store
            .traces_newest_first()
            .find_map(|t| t.spans.iter().find(|s| pred(s)).map(|s| (t, s)))
            .expect("a span that matches")
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    /// The body lines of the section whose heading starts with `title`.
    fn section<'a>(text: &'a [String], title: &str) -> &'a [String] {
        let start = text
            .iter()
            .position(|l| l.starts_with(title))
            .unwrap_or_else(|| panic!("no {title} section in:\n{}", text.join("\n")))
            + 1;
        let end = text[start..]
            .iter()
            .position(String::is_empty)
            .map_or(text.len(), |n| start + n);
        &text[start..end]
    }

    /// From the `user` role line to the next section: the message has blank lines of its
    /// own, and headings wrap at the narrowest widths.
    fn user_message(text: &[String]) -> &[String] {
        let start = text.iter().position(|l| l == "user").unwrap();
        let end = start + text[start..].iter().position(|l| l.starts_with("Logs")).unwrap();
        &text[start..end]
    }

    fn assert_fits(lines: &[Line], width: usize) {
        for l in lines {
            let cells: usize = l.spans.iter().map(|s| width_of(&s.content)).sum();
            assert!(
                l.width() <= width && cells <= width,
                "{} / {cells} columns > {width}: {l:?}",
                l.width()
            );
        }
    }

    fn with_attr(span: &SpanRecord, key: &str, value: &str) -> SpanRecord {
        let mut s = span.clone();
        let mut attrs: Vec<Attr> = s.attributes.iter().filter(|a| &*a.key != key).cloned().collect();
        attrs.push(Attr {
            key: key.into(),
            value: Value::Str(value.into()),
        });
        s.attributes = attrs.into_boxed_slice();
        s
    }

    fn is_llm(s: &SpanRecord) -> bool {
        s.sem
            .as_deref()
            .is_some_and(|m| m.kind == crate::semconv::Kind::Llm)
    }

    fn message_count(s: &SpanRecord) -> usize {
        let c = content::conversation(s);
        c.system.len() + c.input.len() + c.output.len()
    }

    /// The LLM chat span of otel_genai.jsonl with the longest conversation.
    fn longest_chat(store: &TraceStore) -> (&Trace, &SpanRecord) {
        store
            .traces_newest_first()
            .flat_map(|t| t.spans.iter().map(move |s| (t, s)))
            .filter(|(_, s)| is_llm(s) && s.status != StatusCode::Error)
            .max_by_key(|(_, s)| message_count(s))
            .unwrap()
    }

    #[test]
    fn an_llm_span_shows_model_tokens_cost_and_conversation() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let theme = Theme::default();
        let lines = detail_lines(trace, span, 100, &theme);
        let text = texts(&lines);
        assert_fits(&lines, 100);
        let llm = section(&text, "LLM");
        let has = |lines: &[String], s: &str| lines.iter().any(|l| l.contains(s));
        assert!(has(llm, "provider    openai"), "{llm:#?}");
        assert!(has(llm, "model       gpt-4o-mini"));
        assert!(has(llm, "answered by gpt-4o-mini-2024-07-18"));
        assert!(has(llm, " in · ") && has(llm, " out"));
        assert!(has(llm, "from the price table"), "{llm:#?}");
        let conv = section(&text, "Conversation");
        for role in ["system", "user", "assistant", "tool"] {
            assert!(
                conv.iter()
                    .any(|l| l == role || l.starts_with(&format!("{role} "))),
                "{role}"
            );
        }
        assert!(has(conv, "→ get_order_status({"), "{conv:#?}");
        assert!(has(conv, "result of call call_"));
        assert!(has(conv, "  \"order_id\": \"A-1042\""), "{conv:#?}");
        // Section order.
        let pos = |h: &str| text.iter().position(|l| l.starts_with(h)).unwrap();
        assert!(pos("Identity") < pos("LLM") && pos("LLM") < pos("Conversation"));
        assert!(pos("Conversation") < pos("Logs") && pos("Logs") < pos("Attributes"));
        assert!(pos("Attributes") < pos("Resource attributes"));
        // The identity names the parent and the start time to the millisecond.
        let id = section(&text, "Identity");
        assert!(has(id, "agent.run"), "{id:#?}");
        assert!(
            id.iter()
                .any(|l| l.starts_with("start") && l.ends_with(" UTC") && l.contains('.'))
        );
        // Attributes are sorted by key.
        let attrs = section(&text, "Attributes");
        let keys: Vec<&str> = attrs
            .iter()
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split(" = ").next())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
        // Headings are styled as headers, role labels as accents.
        let heading = lines
            .iter()
            .find(|l| texts(std::slice::from_ref(l))[0] == "LLM")
            .unwrap();
        assert_eq!(heading.spans[0].style, theme.header);
        let role = lines
            .iter()
            .find(|l| l.spans.first().is_some_and(|s| s.content == "user"))
            .unwrap();
        assert_eq!(role.spans[0].style.fg, theme.accent.fg);
    }

    #[test]
    fn an_unpriced_call_says_so_in_the_warning_style() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let mut span = span.clone();
        let sem = span.sem.as_deref_mut().unwrap();
        sem.cost_usd = None;
        sem.cost_source = None;
        sem.unpriced = true;
        let theme = Theme::default();
        let lines = detail_lines(trace, &span, 80, &theme);
        let unpriced = lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.content == "unpriced")
            .expect("an unpriced cost");
        assert_eq!(unpriced.style, theme.warn);
    }

    #[test]
    fn a_long_message_wraps_within_the_width_and_loses_nothing() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let long_word = "https://example.com/".to_string() + &"very-long-path-segment/".repeat(12);
        let content = format!(
            "First paragraph: {}\n\n\tIndented after a tab, then a long word {long_word} and \
             some wide text 日本語のテキストを折り返す日本語のテキストを折り返す and emoji 🦀🦀🦀 end.\r\n\
             Last line   with   runs   of   spaces.",
            "lorem ipsum dolor sit amet ".repeat(20)
        );
        let messages = serde_json::json!([
            {"role": "user", "parts": [{"type": "text", "content": content}]}
        ]);
        let span = with_attr(span, "gen_ai.input.messages", &messages.to_string());
        let theme = Theme::default();
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        for width in [4u16, 9, 12, 20, 37, 70, 120] {
            let lines = detail_lines(trace, &span, width, &theme);
            assert_fits(&lines, usize::from(width));
            let text = texts(&lines);
            let conv = user_message(&text).join("\n");
            assert!(
                squash(&conv).contains(&squash(&content)),
                "width {width}: content lost in\n{conv}"
            );
        }
        // Newlines in the content are kept: the blank line between paragraphs survives.
        let text = texts(&detail_lines(trace, &span, 70, &theme));
        let conv = user_message(&text);
        assert!(conv[1].starts_with("  First paragraph: lorem"));
        let blank = conv.iter().position(String::is_empty).unwrap();
        assert!(conv[blank - 1].ends_with("amet") && conv[blank + 1].contains("Indented"));
        assert!(
            conv.iter().any(|l| l.starts_with("      Indented after a tab")),
            "{conv:#?}"
        );
        let last = conv.iter().position(|l| l.contains("Last line")).unwrap();
        assert!(conv[last].starts_with("  Last line   with"), "{conv:#?}");
    }

    #[test]
    fn escape_sequences_in_content_do_not_survive() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let evil = "red \u{1b}[31mALERT\u{1b}[0m clip\u{1b}]52;c;ZXZpbA==\u{7}board\u{9b}2J done";
        let span = with_attr(span, "x.evil", evil);
        let messages = serde_json::json!([
            {"role": "user\u{1b}[2J", "parts": [{"type": "text", "content": format!("{evil}\nsecond {evil}")}]}
        ]);
        let mut span = with_attr(&span, "gen_ai.input.messages", &messages.to_string());
        span.name = format!("chat \u{1b}]0;pwned\u{7}{}", span.name).into();
        let lines = detail_lines(trace, &span, 60, &Theme::default());
        let text = texts(&lines);
        for l in &text {
            assert!(!l.chars().any(char::is_control), "control character in {l:?}");
        }
        // What the sequences carried is gone with them (the raw JSON attribute shows them as
        // `\u001b` escapes, which are plain text).
        let cleaned = section(&text, "Identity")
            .iter()
            .chain(section(&text, "Conversation"))
            .chain(text.iter().filter(|l| l.starts_with("x.evil")));
        for l in cleaned {
            assert!(
                !l.contains("52;c") && !l.contains("ZXZpbA") && !l.contains("pwned"),
                "{l:?}"
            );
        }
        let all = text.join("\n");
        assert!(all.contains("x.evil = red ALERT clipboard done"), "{all}");
        assert!(section(&text, "Conversation").iter().any(|l| l == "user"));
        assert!(all.contains("  second red ALERT clipboard done"));
        let crumbs = breadcrumbs(trace, &span, 80);
        assert!(
            !crumbs.chars().any(char::is_control) && !crumbs.contains("pwned"),
            "{crumbs}"
        );
    }

    #[test]
    fn credentials_are_redacted_and_vectors_summarised() {
        let store = store_of("openinference");
        let (trace, span) = find(&store, |s| &*s.name == "CreateEmbeddings");
        let span = with_attr(span, "http.request.header.authorization", "Bearer sk-live-123");
        let text = texts(&detail_lines(trace, &span, 100, &Theme::default()));
        let all = text.join("\n");
        assert!(!all.contains("sk-live-123"));
        assert!(all.contains("http.request.header.authorization = [redacted]"));
        assert!(
            all.contains("embedding.embeddings.0.embedding.vector = [") && all.contains("values, not shown]"),
            "{all}"
        );
    }

    #[test]
    fn secrets_inside_values_are_redacted_in_every_section() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let key = "sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5Ab7cD9eF1gH3i";
        let span = with_attr(span, "input.value", &format!("my key is {key}, keep it"));
        let span = with_attr(&span, "db.url", "postgres://app:hunter2@db/prod");
        let all = texts(&detail_lines(trace, &span, 100, &Theme::default())).join("\n");
        assert!(!all.contains(key) && !all.contains("hunter2"), "{all}");
        assert!(all.contains("my key is [redacted], keep it"), "{all}");
        assert!(all.contains("postgres://app:[redacted]@db/prod"), "{all}");
    }

    #[test]
    fn oversized_values_say_how_much_was_left_out() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let big = "word ".repeat(20_000); // 100,000 bytes
        let span = with_attr(span, "x.big", &big);
        let text = texts(&detail_lines(trace, &span, 100, &Theme::default()));
        let left = 100_000 - VALUE_CAP;
        let note = format!(
            "… {} more bytes not shown (a value shows at most 64 KiB)",
            count(left as u64)
        );
        assert!(text.iter().any(|l| l.trim() == note), "no {note:?}");

        // Past the detail's budget, values are counted rather than shown.
        let mut many = span.clone();
        let mut attrs = many.attributes.to_vec();
        let chunk = "abcdefgh ".repeat(VALUE_CAP / 9);
        for i in 0..(DETAIL_CAP / chunk.len() + 2) {
            attrs.push(Attr {
                key: format!("x.chunk.{i:02}").into(),
                value: Value::Str(chunk.as_str().into()),
            });
        }
        many.attributes = attrs.into_boxed_slice();
        let text = texts(&detail_lines(trace, &many, 200, &Theme::default()));
        assert!(
            text.iter()
                .any(|l| l.contains("(the detail shows at most 1 MiB of values)"))
        );
    }

    #[test]
    fn a_person_overriding_a_verdict_shows_both_with_the_judge_marked() {
        let mut store = store_of("otel_genai_eval");
        let (trace_id, judge) = {
            let (trace, span) = find(&store, |s| s.span_id.to_string() == "609547baa1e4ba2a");
            let v = trace
                .verdicts_for(span)
                .find(|v| &*v.name == "groundedness")
                .unwrap()
                .clone();
            (trace.id, v)
        };
        store.insert_verdicts([Verdict {
            source: crate::semconv::VerdictSource::Human,
            passed: Some(false),
            score: Some(0.0),
            label: Some(Arc::from("stale-policy")),
            explanation: Some("quotes last year's policy".into()),
            reviewer: Some("alice".into()),
            ..judge
        }]);
        let trace = store.trace(&trace_id).unwrap();
        let span = trace
            .spans
            .iter()
            .find(|s| s.span_id.to_string() == "609547baa1e4ba2a")
            .unwrap();
        let text = texts(&detail_lines(trace, span, 120, &Theme::default()));
        let verdicts = section(&text, "Verdicts");
        assert!(
            verdicts.iter().any(|l| l == "groundedness  0.95  pass"),
            "{verdicts:#?}"
        );
        assert!(
            verdicts
                .iter()
                .any(|l| l.contains("source span_event") && l.ends_with("overridden by a person's verdict")),
            "{verdicts:#?}"
        );
        assert!(
            verdicts
                .iter()
                .any(|l| l == "  label stale-policy · source human · by alice"),
            "{verdicts:#?}"
        );
    }

    #[test]
    fn verdicts_of_the_eval_fixture_are_listed() {
        let store = store_of("otel_genai_eval");
        let (trace, span) = find(&store, |s| s.span_id.to_string() == "609547baa1e4ba2a");
        let theme = Theme::default();
        let lines = detail_lines(trace, span, 80, &theme);
        let text = texts(&lines);
        let verdicts = section(&text, "Verdicts");
        assert!(
            verdicts.iter().any(|l| l == "groundedness  0.95  pass"),
            "{verdicts:#?}"
        );
        assert!(verdicts.iter().any(|l| l == "relevance  0.87  pass"));
        assert!(verdicts.iter().any(|l| l.contains("source span_event")));
        assert!(
            verdicts.iter().any(|l| l.contains("source log_record")),
            "{verdicts:#?}"
        );
        assert!(
            verdicts
                .iter()
                .any(|l| l.contains("Answer repeats the tool result"))
        );
        let pass = lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.content == "  pass")
            .unwrap();
        assert_eq!(pass.style, theme.verdict_pass);
        // The logs tied to the span are listed with their event names.
        let logs = section(&text, "Logs");
        assert!(
            logs.iter().any(|l| l.ends_with("gen_ai.evaluation.result")),
            "{logs:#?}"
        );
        // Its events, with their offset from the span's start.
        let events = section(&text, "Events");
        assert!(
            events
                .iter()
                .any(|l| l.starts_with('+') && l.ends_with("gen_ai.evaluation.result")),
            "{events:#?}"
        );
        assert!(
            events
                .iter()
                .any(|l| l == "  gen_ai.evaluation.name = groundedness")
        );
    }

    #[test]
    fn retrieval_and_tool_spans_show_documents_and_io() {
        let store = store_of("openinference");
        let (trace, span) = find(&store, |s| &*s.name == "retrieve_documents");
        let text = texts(&detail_lines(trace, span, 80, &Theme::default()));
        let docs = section(&text, "Retrieved documents (2)");
        assert!(docs.iter().any(|l| l.contains("score")), "{docs:#?}");
        let (trace, span) = find(&store, |s| &*s.name == "get_order_status");
        let text = texts(&detail_lines(trace, span, 80, &Theme::default()));
        let tool = section(&text, "Tool");
        assert!(
            tool.iter().any(|l| l == "input") && tool.iter().any(|l| l == "output"),
            "{tool:#?}"
        );
        assert!(
            tool.iter().any(|l| l.contains("\"order_id\": \"A-1042\"")),
            "{tool:#?}"
        );
    }

    #[test]
    fn an_error_span_shows_its_status_and_exception() {
        let store = store_of("otel_genai");
        let (trace, span) = find(&store, |s| {
            s.status == StatusCode::Error && s.parent_span_id.is_none()
        });
        let theme = Theme::default();
        let lines = detail_lines(trace, span, 80, &theme);
        let status = lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.content == "error" || s.content.starts_with("error"))
            .unwrap();
        assert_eq!(status.style, theme.error);
        let text = texts(&lines);
        assert!(section(&text, "Identity").iter().any(|l| l == "parent      root"));
        assert!(section(&text, "Events").iter().any(|l| l.ends_with("exception")));
        // An empty section is left out.
        assert!(!text.iter().any(|l| l.starts_with("Links")));
    }

    #[test]
    fn breadcrumbs_follow_the_parents() {
        let store = store_of("otel_genai");
        let (trace, span) = find(&store, |s| s.name.starts_with("embeddings"));
        assert_eq!(
            breadcrumbs(trace, span, 200),
            "agent.run › retrieval kb-support › embeddings text-embedding-3-small"
        );
        let cut = breadcrumbs(trace, span, 40);
        assert!(
            cut.starts_with('…') && cut.ends_with(" › embeddings text-embedding-3-small"),
            "{cut}"
        );
        assert_eq!(width_of(&cut), 40);
        assert_eq!(breadcrumbs(trace, span, 0), "");
        let root = trace.root().unwrap();
        assert_eq!(breadcrumbs(trace, root, 80), "agent.run");

        // A missing parent stops the walk; a cycle does not loop.
        let mut orphan = span.clone();
        orphan.parent_span_id = Some(SpanId([9; 8]));
        assert_eq!(
            breadcrumbs(trace, &orphan, 200),
            "(missing) › embeddings text-embedding-3-small"
        );
        let mut store = TraceStore::new(StoreLimits::default());
        let mut a = span.clone();
        let mut b = span.clone();
        a.span_id = SpanId([1; 8]);
        a.parent_span_id = Some(SpanId([2; 8]));
        a.name = "a".into();
        b.span_id = SpanId([2; 8]);
        b.parent_span_id = Some(SpanId([1; 8]));
        b.name = "b".into();
        store.insert_spans([a.clone(), b]);
        let trace = store.trace(&a.trace_id).unwrap();
        assert_eq!(breadcrumbs(trace, &a, 80), "b › a");
    }

    #[test]
    fn json_is_reindented_in_the_order_sent() {
        assert_eq!(
            crate::semconv::value::pretty_json(r#"{"z":1,"a":[1, 2,{}],"s":"x,{y}:\"q\"","e":[]}"#).unwrap(),
            "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2,\n    {}\n  ],\n  \"s\": \"x,{y}:\\\"q\\\"\",\n  \"e\": []\n}"
        );
        assert_eq!(crate::semconv::value::pretty_json("plain"), None);
        assert_eq!(crate::semconv::value::pretty_json("{not json"), None);
        assert_eq!(crate::semconv::value::pretty_json("42"), None);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_inside_long_words() {
        let s = Style::new();
        let lines = texts(&wrap(&[("aaa bbb ccc", s)], 7, 0, 0));
        assert_eq!(lines, ["aaa bbb", "ccc"]);
        let lines = texts(&wrap(&[("abcdefghij", s)], 4, 0, 0));
        assert_eq!(lines, ["abcd", "efgh", "ij"]);
        let lines = texts(&wrap(&[("key = ", s), ("one two three", s)], 12, 0, 4));
        assert_eq!(lines, ["key = one", "    two", "    three"]);
        let lines = texts(&wrap(&[("日本語です", s)], 5, 0, 0));
        assert_eq!(lines, ["日本", "語で", "す"]);
        assert_eq!(usd(0.0000386), "$0.0000386");
        assert_eq!(usd(0.25), "$0.250");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(fmt_time(1_800_000_001_250_000_000), "08:00:01.250");
    }

    #[test]
    fn snapshot_of_the_longest_chat() {
        let store = store_of("otel_genai");
        let (trace, span) = longest_chat(&store);
        let lines = detail_lines(trace, span, 70, &Theme::default());
        assert_fits(&lines, 70);
        insta::assert_snapshot!("otel_genai_longest_chat_w70", texts(&lines).join("\n"));
    }
}
