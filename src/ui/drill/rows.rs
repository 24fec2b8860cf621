//! How the drill-down writes a trace: one line per tree row (tag, name, duration, model,
//! tokens, cost, verdict badges, error mark), the waterfall bar on the trace's timeline, and the
//! summary header.

use super::tree::{NodeKind, SpanTree, critical_path};
use crate::model::{SpanRecord, StatusCode};
use crate::semconv::Kind;
use crate::store::Trace;
use crate::ui::text::{clean, fit_row, fmt_count, fmt_nanos, fmt_usd};
use crate::ui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Deeper levels than this are drawn at this indentation, with their depth written out.
const MAX_INDENT: usize = 24;

/// A short tag for what the span does.
pub fn tag(span: &SpanRecord) -> &'static str {
    match span.sem.as_deref().map(|m| m.kind) {
        Some(Kind::Llm) => "llm",
        Some(Kind::Embedding) => "embed",
        Some(Kind::Retrieval) => "retr",
        Some(Kind::Rerank) => "rerank",
        Some(Kind::Tool) => "tool",
        Some(Kind::Agent) => "agent",
        Some(Kind::Chain) => "chain",
        Some(Kind::Guardrail) => "guard",
        Some(Kind::Evaluator) => "eval",
        Some(Kind::Other) | None => match span.kind {
            crate::model::SpanKind::Server => "server",
            crate::model::SpanKind::Client => "client",
            crate::model::SpanKind::Producer => "produce",
            crate::model::SpanKind::Consumer => "consume",
            _ => "span",
        },
    }
}

fn tag_style(span: &SpanRecord, theme: &Theme) -> Style {
    match span.sem.as_deref().map(|m| m.kind) {
        Some(Kind::Llm | Kind::Embedding | Kind::Rerank) => theme.accent,
        Some(Kind::Tool | Kind::Retrieval) => theme.warn,
        Some(Kind::Evaluator | Kind::Guardrail) => theme.ok,
        _ => theme.muted,
    }
}

/// Cells the span name keeps before the figures after it give way.
const MIN_NAME: usize = 16;

/// The tree pane's line for node `n` of `tree`, at most `width` cells: the name is cut with
/// `…` when room is short, and the figures after it are left out whole, the least wanted
/// first (verdict badges, then the model, tokens, cost; the duration and the error mark last),
/// the line then ending in `…`.
pub fn row_line(trace: &Trace, tree: &SpanTree, n: usize, width: usize, theme: &Theme) -> Line<'static> {
    let node = tree.nodes[n];
    let mut head: Vec<Span<'static>> = Vec::new();
    let depth = node.depth;
    if depth > MAX_INDENT {
        head.push(Span::styled(
            format!("{}[{depth}] ", " ".repeat(MAX_INDENT - 4)),
            theme.muted,
        ));
    } else {
        head.push(Span::raw(" ".repeat(depth * 2)));
    }
    let id = tree.node_id(trace, n);
    let marker = if !node.has_children(n) {
        "  "
    } else if tree.collapsed.contains(&id) {
        "▶ "
    } else {
        "▼ "
    };
    head.push(Span::styled(marker, theme.muted));
    let i = match node.kind {
        NodeKind::Span(i) => i,
        NodeKind::MissingParentGroup => {
            let text = Span::styled("⚠ missing parent: spans whose parent has not arrived", theme.warn);
            return Line::from(fit_row(head, text, Vec::new(), 0, width));
        }
        NodeKind::CycleGroup => {
            let text = Span::styled("⚠ parent-id cycle (cut here)", theme.error);
            return Line::from(fit_row(head, text, Vec::new(), 0, width));
        }
    };
    let s = &trace.spans[i];
    head.push(Span::styled(format!("{:<6} ", tag(s)), tag_style(s, theme)));
    let error = s.status == StatusCode::Error;
    let name = Span::styled(
        clean(&s.name).into_owned(),
        if error { theme.error } else { theme.base },
    );
    // (priority, segment): the lower goes first when room is short.
    let mut tail: Vec<(u8, Vec<Span<'static>>)> = vec![(
        5,
        vec![Span::styled(
            format!("  {}", fmt_nanos(s.duration_nanos())),
            theme.muted,
        )],
    )];
    if let Some(m) = s.sem.as_deref() {
        // The model, unless the span's name already says it ("chat gpt-4o").
        if let Some(model) = m.model().filter(|m| !s.name.contains(&***m)) {
            tail.push((1, vec![Span::styled(format!("  {}", clean(model)), theme.accent)]));
        }
        if let Some(u) = m.usage {
            tail.push((
                2,
                vec![Span::styled(
                    format!(" {}→{}", fmt_count(u.input), fmt_count(u.output)),
                    theme.muted,
                )],
            ));
        }
        match (m.cost_usd, m.unpriced) {
            (Some(c), _) => tail.push((3, vec![Span::raw(format!(" {}", fmt_usd(c)))])),
            (None, true) => tail.push((3, vec![Span::styled(" unpriced", theme.warn)])),
            _ => {}
        }
    }
    for v in trace.verdicts_for(s).filter(|v| v.is_notable()) {
        if v.is_human() {
            let style = if v.passed == Some(false) {
                theme.verdict_fail
            } else {
                theme.verdict_pass
            };
            let badge = crate::ui::text::human_badge(v, crate::ui::text::ascii_glyphs());
            tail.push((0, vec![Span::styled(format!("  {badge}"), style)]));
            continue;
        }
        let (mark, style) = match v.passed {
            Some(true) => ("✓", theme.verdict_pass),
            Some(false) => ("✗", theme.verdict_fail),
            None => ("?", theme.muted),
        };
        let score = v.score.map_or(String::new(), |x| format!(" {x:.2}"));
        tail.push((
            0,
            vec![Span::styled(format!("  {}{score} {mark}", clean(&v.name)), style)],
        ));
    }
    if error {
        tail.push((4, vec![Span::styled("  ✗ error", theme.error)]));
    }
    Line::from(fit_row(head, name, tail, MIN_NAME, width))
}

/// The span's place on the trace's timeline as a bar `width` cells wide.
pub fn waterfall(trace: &Trace, span: &SpanRecord, width: usize, theme: &Theme) -> Line<'static> {
    if width == 0 {
        return Line::default();
    }
    let t0 = trace.start_unix_nano;
    let total = trace.end_unix_nano.saturating_sub(t0).max(1) as f64;
    let from = ((span.start_unix_nano.saturating_sub(t0)) as f64 / total * width as f64).floor() as usize;
    let len = ((span.duration_nanos() as f64 / total * width as f64).round() as usize).max(1);
    let from = from.min(width - 1);
    let len = len.min(width - from);
    let style = if span.status == StatusCode::Error {
        theme.error
    } else if span.sem.as_deref().is_some_and(|m| m.kind.is_model_call()) {
        theme.accent
    } else {
        theme.sparkline
    };
    Line::from(vec![
        Span::raw(" ".repeat(from)),
        Span::styled("━".repeat(len), style),
        Span::raw(" ".repeat(width - from - len)),
    ])
}

/// The summary: duration, spans, model calls, tokens, cost (and its multiple of the cohort
/// median), verdicts, errors, and how much of the critical path is model calls; one segment
/// each, in that order, for [`pack`] to lay out whole.
pub fn header(trace: &Trace, baseline: Option<(f64, String)>, theme: &Theme) -> Vec<Vec<Span<'static>>> {
    // The same accounting as the trace list's row.
    let row = crate::view::row::TraceRow::from_trace(trace);
    let (calls, input, output, unpriced) = (
        row.llm_calls,
        row.input_tokens,
        row.output_tokens,
        row.unpriced_calls,
    );
    let duration = trace.end_unix_nano.saturating_sub(trace.start_unix_nano);
    let mut segments = vec![
        vec![Span::styled(format!(" trace {} ", trace.id), theme.accent)],
        vec![Span::raw(format!("· {} ", fmt_nanos(duration)))],
        vec![Span::raw(format!("· {} spans ", trace.spans.len()))],
        vec![Span::raw(format!("· {calls} model calls "))],
        vec![Span::raw(format!(
            "· {}→{} tokens ",
            fmt_count(input),
            fmt_count(output)
        ))],
    ];
    let mut spans = vec![Span::raw("· ")];
    match row.cost_usd {
        Some(c) => {
            let mut text = fmt_usd(c);
            if unpriced > 0 {
                text.push_str(&format!(" + {unpriced} unpriced"));
            }
            spans.push(Span::raw(text));
            if let Some((multiple, cohort)) = baseline {
                let style = if multiple >= 3.0 { theme.error } else { theme.muted };
                spans.push(Span::styled(
                    format!(" ({multiple:.1}× {} median)", clean(&cohort)),
                    style,
                ));
            }
        }
        None if unpriced > 0 => spans.push(Span::styled(format!("{unpriced} unpriced calls"), theme.warn)),
        None => spans.push(Span::styled("no cost", theme.muted)),
    }
    segments.push(std::mem::take(&mut spans));
    let (pass, fail) = (row.passed_verdicts(), row.failed_verdicts());
    if pass + fail > 0 {
        spans.push(Span::raw(" · evals "));
        spans.push(Span::styled(format!("{pass}✓"), theme.verdict_pass));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!("{fail}✗"), theme.verdict_fail));
        segments.push(std::mem::take(&mut spans));
    }
    let errors = row.error_spans;
    if errors > 0 {
        segments.push(vec![Span::styled(format!(" · {errors} errors"), theme.error)]);
    }
    let path = critical_path(trace);
    let on_path: u64 = path.iter().map(|(_, ns)| ns).sum();
    if on_path > 0 {
        let llm: u64 = path
            .iter()
            .filter(|(i, _)| trace.spans[*i].sem.as_deref().is_some_and(|m| m.is_model_call()))
            .map(|(_, ns)| ns)
            .sum();
        segments.push(vec![Span::styled(
            format!(
                " · critical path {} spans, {:.0}% in model calls",
                path.len(),
                llm as f64 * 100.0 / on_path as f64
            ),
            theme.muted,
        )]);
    }
    segments
}

/// Lays `segments` out on at most `lines` lines of `width` cells, each segment whole and in
/// order: a segment that does not fit starts the next line; once the lines are used up the rest
/// is left out and the last line ends in `…`, so nothing is cut mid-figure.
pub fn pack(segments: &[Vec<Span<'static>>], width: usize, lines: usize) -> Vec<Line<'static>> {
    let seg_width = |s: &[Span]| s.iter().map(Span::width).sum::<usize>();
    let mut out: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    for (i, seg) in segments.iter().enumerate() {
        let w = seg_width(seg);
        // Room for the mark, should a later segment not fit.
        let reserve = usize::from(i + 1 < segments.len());
        let fits_here = !out.is_empty() && used + w + reserve <= width;
        if fits_here && let Some(last) = out.last_mut() {
            last.extend(seg.iter().cloned());
            used += w;
        } else if out.len() < lines && w + reserve <= width {
            out.push(seg.clone());
            used = w;
        } else {
            match out.last_mut() {
                Some(last) => last.push(Span::raw("…")),
                // Not even the first segment fits: it is cut, with the mark.
                None if lines > 0 => {
                    let text: String = seg.iter().map(|s| s.content.as_ref()).collect();
                    let style = seg.first().map(|s| s.style).unwrap_or_default();
                    out.push(vec![Span::styled(crate::ui::text::fit(&text, width), style)]);
                }
                None => {}
            }
            break;
        }
    }
    out.into_iter().map(Line::from).collect()
}

#[cfg(test)]
mod pack_tests {
    use super::pack;
    use ratatui::text::Span;

    fn segs(texts: &[&str]) -> Vec<Vec<Span<'static>>> {
        texts.iter().map(|t| vec![Span::raw(t.to_string())]).collect()
    }

    fn text(lines: &[ratatui::text::Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn segments_stay_whole_and_what_is_left_out_is_marked() {
        let s = segs(&["trace ab ", "· 1.5s ", "· 3 spans ", "· $0.031 ", "· 8 errors"]);
        assert_eq!(
            text(&pack(&s, 100, 1)),
            ["trace ab · 1.5s · 3 spans · $0.031 · 8 errors"]
        );
        // Two lines of 20: the fourth segment starts the second line, the fifth has no room.
        assert_eq!(
            text(&pack(&s, 20, 2)),
            ["trace ab · 1.5s ", "· 3 spans · $0.031 …"]
        );
        assert_eq!(text(&pack(&s, 20, 1)), ["trace ab · 1.5s …"]);
        // A first segment wider than the line is cut with the mark.
        assert_eq!(text(&pack(&s, 5, 1)), ["trac…"]);
    }
}
