//! Text from spans is untrusted: it may carry escape sequences that would move the cursor,
//! retitle the window or write to the clipboard if printed. Everything from span content goes
//! through [`clean`] before it reaches a cell (printed lines escape them instead, see
//! [`crate::text`]); [`fmt_*`] keep numbers short and aligned.

use ratatui::text::Span;
use std::borrow::Cow;

/// `s` with escape sequences removed and other control characters made harmless: tabs and
/// newlines become spaces (one-line cells), C0/C1 controls, DEL and bidirectional overrides
/// are dropped.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_cleaning) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // CSI introduced by the one-byte C1 form.
            '\u{9b}' => skip_until_final(&mut chars),
            // OSC, DCS, SOS, PM, APC in their C1 form: skip to the string terminator.
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if needs_cleaning(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_cleaning(c: char) -> bool {
    crate::text::is_control(c)
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Two-byte sequences (ESC c, ESC 7, ...) and charset designations (ESC ( B).
        Some('(' | ')' | '*' | '+' | '#' | '%') => {
            chars.next();
        }
        _ => {}
    }
}

/// CSI parameters and intermediates, then one final byte in `@`..=`~`.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

/// A control string ends with BEL, ST (ESC \) or the C1 ST.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// Display width of `s` in terminal cells (wide characters take two).
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` in at most `max` cells: whole when it fits, else cut at the end with `…` (the one
/// truncation mark on screen: nothing is cut without it), between graphemes. Numbers and
/// costs are not passed here; their columns are sized to hold them, and a column that does not
/// fit is dropped.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in ratatui::text::Span::raw(s).styled_graphemes(ratatui::style::Style::new()) {
        let w = width(g.symbol);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push_str(g.symbol);
    }
    out.push('…');
    out
}

/// `spans` in at most `max` cells: whole spans while they fit, then `…` for the rest (so a
/// figure in a later span is left out, never cut); only a first span wider than `max` is cut
/// itself, by [`fit`]. For titles and other lines built of whole segments.
pub fn fit_spans<'a>(spans: Vec<Span<'a>>, max: usize) -> Vec<Span<'a>> {
    let total: usize = spans.iter().map(Span::width).sum();
    if total <= max {
        return spans;
    }
    let mut out: Vec<Span<'a>> = Vec::new();
    let mut used = 0;
    for span in spans {
        let w = span.width();
        if used + w < max {
            used += w;
            out.push(span);
            continue;
        }
        if out.is_empty() {
            // Wider than `max` or just as wide (with more to follow): cut, with the mark.
            let room = if w > max { max } else { max.saturating_sub(1) };
            out.push(Span::styled(fit(&span.content, room), span.style));
        } else if max > used {
            // Apart from a figure the kept part ends in, so the figure does not read as cut.
            let spaced = out.last().is_some_and(|s| !s.content.ends_with(' ')) && max > used + 1;
            out.push(Span::raw(if spaced { " …" } else { "…" }));
        }
        break;
    }
    out
}

/// One row of at most `max` cells: `head` (kept whole), a `name` cut with `…` when room is
/// short, then `tail` segments, each kept whole or left out. While the name would get fewer
/// than `min_name` cells, the tail segment of the lowest priority goes first (the later one
/// among equals); a row that left something out ends in ` …`. Figures sit in the tail, so none
/// is ever cut.
pub fn fit_row<'a>(
    head: Vec<Span<'a>>,
    name: Span<'a>,
    tail: Vec<(u8, Vec<Span<'a>>)>,
    min_name: usize,
    max: usize,
) -> Vec<Span<'a>> {
    let w = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    let head_w = w(&head);
    let mut kept: Vec<bool> = vec![true; tail.len()];
    let tail_w = |kept: &[bool]| -> usize {
        tail.iter()
            .zip(kept)
            .filter(|(_, k)| **k)
            .map(|((_, s), _)| w(s))
            .sum()
    };
    let min_name = min_name.min(name.width());
    // The mark stands apart from the figure before it.
    const MARK: &str = " …";
    let mark_w = width(MARK);
    loop {
        let mark = if kept.contains(&false) { mark_w } else { 0 };
        if head_w + min_name + tail_w(&kept) + mark <= max {
            break;
        }
        // The lowest priority still kept, the later one among equals.
        let drop = (0..tail.len())
            .filter(|&i| kept[i])
            .min_by_key(|&i| (tail[i].0, std::cmp::Reverse(i)));
        match drop {
            Some(i) => kept[i] = false,
            None => break,
        }
    }
    let mut mark = kept.contains(&false);
    let mut room = max.saturating_sub(head_w + tail_w(&kept) + if mark { mark_w } else { 0 });
    if mark && !kept.contains(&true) && name.width() > room + mark_w {
        // The name's own mark ends the row.
        room += mark_w;
        mark = false;
    }
    let mut out = head;
    out.push(Span::styled(fit(&name.content, room), name.style));
    for ((_, spans), keep) in tail.into_iter().zip(&kept) {
        if *keep {
            out.extend(spans);
        }
    }
    if mark {
        out.push(Span::raw(MARK));
    }
    // A head wider than the row is cut like any other line of segments.
    fit_spans(out, max)
}

/// `s` in at most `max` cells, cut in the middle (`claude-son…4-5`): for model names, whose
/// version sits at the end.
pub fn fit_middle(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max < 6 {
        return fit(s, max);
    }
    let chars: Vec<char> = s.chars().collect();
    // A quarter of the room for the tail, the rest for the head.
    let tail_room = (max - 1) / 4;
    let mut tail = Vec::new();
    let mut used = 0;
    for &c in chars.iter().rev() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > tail_room {
            break;
        }
        tail.push(c);
        used += w;
    }
    tail.reverse();
    let head = fit(
        &chars[..chars.len() - tail.len()].iter().collect::<String>(),
        max - used,
    );
    // `fit` ended the head with the mark; the tail follows it.
    format!("{head}{}", tail.into_iter().collect::<String>())
}

/// Milliseconds from microseconds: `850µs`, `12ms`, `1.24s`, `3m05s`.
pub fn fmt_micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{}ms", us / 1_000)
    } else if us < 60_000_000 {
        format!("{:.2}s", us as f64 / 1e6)
    } else {
        let s = us / 1_000_000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

pub fn fmt_nanos(ns: u64) -> String {
    fmt_micros(ns / 1_000)
}

/// US dollars with precision that suits the amount.
pub fn fmt_usd(usd: f64) -> String {
    if usd == 0.0 {
        "$0".into()
    } else if usd < 0.0001 {
        "<$0.0001".into()
    } else if usd < 0.01 {
        format!("${usd:.4}")
    } else if usd < 100.0 {
        format!("${usd:.3}")
    } else {
        format!("${usd:.0}")
    }
}

/// Counts: 950, 12.3k, 4.5M.
pub fn fmt_count(n: u64) -> String {
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", n as f64 / 1e3)
    } else {
        format!("{:.1}M", n as f64 / 1e6)
    }
}

/// Spend in a headline, shorter than [`fmt_usd`] (which shows a call's or a trace's cost to
/// the tenth of a cent): `$1,204`, `$22`, `$1.84`, `$0.0042`, `$0`.
pub fn fmt_spend(usd: f64) -> String {
    let x = if usd.is_finite() { usd.max(0.0) } else { 0.0 };
    if x == 0.0 {
        "$0".to_string()
    } else if x >= 10.0 {
        format!("${}", fmt_thousands(x.round() as u64))
    } else if x >= 0.1 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

/// Whole numbers with thousands separators: 1,204.
pub fn fmt_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Event time of day (UTC): `14:03:22`.
pub use crate::clock::hms as fmt_clock;

/// Whether glyphs the terminal may lack (emoji) are spelled in ASCII: `LLMWATCH_ASCII=1`, or
/// the Linux console (`TERM=linux`), whose font has no emoji. Decided once.
pub fn ascii_glyphs() -> bool {
    static ASCII: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ASCII.get_or_init(|| {
        let set = |k: &str| std::env::var(k).ok();
        set("LLMWATCH_ASCII").is_some_and(|v| !v.is_empty() && v != "0")
            || set("TERM").is_some_and(|t| t == "linux")
    })
}

/// A person's verdict as a badge: `👤 fail stale-policy` (`[human] fail stale-policy` in
/// ASCII); the label is left out when it only repeats pass/fail.
pub fn human_badge(v: &crate::semconv::Verdict, ascii: bool) -> String {
    let mark = if ascii { "[human]" } else { "👤" };
    let word = match v.passed {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "?",
    };
    match v.label.as_deref().map(str::trim) {
        Some(l) if !l.is_empty() && !l.eq_ignore_ascii_case(word) => {
            format!("{mark} {word} {}", clean(l))
        }
        _ => format!("{mark} {word}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cut_ends_in_the_mark_and_fits() {
        assert_eq!(fit("the agent retries on error", 12), "the agent r…");
        assert_eq!(fit("short", 12), "short");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abcdef", 1), "…");
        // Wide characters count two cells and are never split.
        assert_eq!(fit("日本語テキスト", 7), "日本語…");
        assert_eq!(fit("…/capture.jsonl.gz", 16), "…/capture.jsonl…");
        assert_eq!(fit("abc", 1), "…");
        assert_eq!(fit_middle("claude-sonnet-4-5", 14), "claude-son…4-5");
        assert_eq!(fit_middle("text-embedding-3-small", 14), "text-embed…all");
        assert_eq!(fit_middle("gpt-4o", 14), "gpt-4o");
        for max in 0..30 {
            for s in ["claude-sonnet-4-5-20250929", "a", "日本語テキスト日本語"] {
                for cut in [fit(s, max), fit_middle(s, max)] {
                    assert!(width(&cut) <= max, "{cut:?} in {max}");
                    assert!(cut == s || cut.contains('…') || max == 0, "{cut:?}");
                }
            }
        }
    }

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn segments_are_left_out_whole_and_the_line_says_so() {
        let spans = || {
            vec![
                Span::raw(" Logs "),
                Span::raw("1,204 of 3,400 match "),
                Span::raw("pinned "),
            ]
        };
        assert_eq!(
            text(&fit_spans(spans(), 40)),
            " Logs 1,204 of 3,400 match pinned "
        );
        // The figures go whole, never `1,2…`.
        assert_eq!(text(&fit_spans(spans(), 20)), " Logs …");
        // The mark stands apart from a figure.
        assert_eq!(
            text(&fit_spans(vec![Span::raw("3 of 9"), Span::raw(" match")], 9)),
            "3 of 9 …"
        );
        assert_eq!(text(&fit_spans(spans(), 4)), " Lo…");
        assert_eq!(text(&fit_spans(spans(), 0)), "");
        // A first span just as wide as the line, with more to follow, is cut too.
        assert_eq!(
            text(&fit_spans(vec![Span::raw("abcde"), Span::raw("f")], 5)),
            "abc…"
        );
        for max in 0..40 {
            assert!(fit_spans(spans(), max).iter().map(Span::width).sum::<usize>() <= max);
        }
    }

    #[test]
    fn a_row_cuts_its_name_and_leaves_out_the_least_wanted_figures_first() {
        let row = |max| {
            let tail = vec![
                (3, vec![Span::raw("  1.50s")]),
                (1, vec![Span::raw("  1.2M→98.8k")]),
                (2, vec![Span::raw(" $5.185")]),
                (0, vec![Span::raw("  Groundedness 0.25 ✗")]),
            ];
            let spans = fit_row(
                vec![Span::raw("  llm    ")],
                Span::raw("chat claude-sonnet-4-5"),
                tail,
                12,
                max,
            );
            assert!(spans.iter().map(Span::width).sum::<usize>() <= max, "{max}");
            text(&spans)
        };
        assert_eq!(
            row(100),
            "  llm    chat claude-sonnet-4-5  1.50s  1.2M→98.8k $5.185  Groundedness 0.25 ✗"
        );
        // The verdict goes first (lowest), then the tokens; the name keeps 12 cells or more.
        assert_eq!(
            row(60),
            "  llm    chat claude-sonnet-4-5  1.50s  1.2M→98.8k $5.185 …"
        );
        assert_eq!(row(47), "  llm    chat claude-sonnet-4-5  1.50s $5.185 …");
        assert_eq!(row(40), "  llm    chat claude-so…  1.50s $5.185 …");
        assert_eq!(row(30), "  llm    chat claude…  1.50s …");
        // With every figure gone the name takes what is left (its mark ends the row), and a
        // head too wide is cut.
        assert_eq!(row(20), "  llm    chat claud…");
        assert_eq!(row(5), "  ll…");
        for max in 0..100 {
            row(max);
        }
    }

    #[test]
    fn escape_sequences_never_reach_the_screen() {
        assert_eq!(clean("plain text"), Cow::Borrowed("plain text"));
        assert_eq!(clean("red \u{1b}[31mALERT\u{1b}[0m"), "red ALERT");
        assert_eq!(clean("title\u{1b}]0;pwned\u{7}ok"), "titleok");
        assert_eq!(clean("clip\u{1b}]52;c;ZXZpbA==\u{1b}\\board"), "clipboard");
        assert_eq!(clean("a\u{9b}2Jb"), "ab");
        assert_eq!(clean("line1\nline2\ttab\r"), "line1 line2 tab ");
        assert_eq!(clean("bell\u{7}del\u{7f}nul\u{0}"), "belldelnul");
        assert_eq!(clean("evil\u{202e}txt.exe"), "eviltxt.exe");
        assert_eq!(clean("charset\u{1b}(Bok"), "charsetok");
        // A truncated sequence at the end is dropped, not panicked on.
        assert_eq!(clean("cut\u{1b}[31"), "cut");
        assert_eq!(clean("\u{1b}"), "");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_micros(850), "850µs");
        assert_eq!(fmt_micros(12_345), "12ms");
        assert_eq!(fmt_micros(1_240_000), "1.24s");
        assert_eq!(fmt_micros(185_000_000), "3m05s");
        assert_eq!(fmt_usd(0.00042), "$0.0004");
        assert_eq!(fmt_usd(0.125), "$0.125");
        assert_eq!(fmt_usd(0.0), "$0");
        assert_eq!(fmt_count(12_345), "12.3k");
        assert_eq!(fmt_spend(1.844), "$1.84");
        assert_eq!(fmt_spend(22.08), "$22");
        assert_eq!(fmt_spend(1_204.4), "$1,204");
        assert_eq!(fmt_spend(0.00421), "$0.0042");
        assert_eq!(fmt_spend(0.0), "$0");
        assert_eq!(fmt_spend(f64::NAN), "$0");
        assert_eq!(fmt_clock(1_800_000_000), "08:00:00");
        assert_eq!(fmt_thousands(0), "0");
        assert_eq!(fmt_thousands(999), "999");
        assert_eq!(fmt_thousands(1_204), "1,204");
        assert_eq!(fmt_thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn the_human_badge_has_an_ascii_form_and_drops_a_label_that_repeats_the_verdict() {
        use crate::semconv::{Verdict, VerdictSource};
        let v = |passed, label: Option<&str>| Verdict {
            trace_id: None,
            target: None,
            response_id: None,
            name: "Groundedness".into(),
            score: Some(0.0),
            label: label.map(Into::into),
            explanation: None,
            passed,
            source: VerdictSource::Human,
            time_unix_nano: 0,
            reviewer: None,
        };
        let stale = v(Some(false), Some("stale-policy"));
        assert_eq!(human_badge(&stale, false), "👤 fail stale-policy");
        assert_eq!(human_badge(&stale, true), "[human] fail stale-policy");
        assert_eq!(human_badge(&v(Some(true), Some("pass")), true), "[human] pass");
        // A label from a file is shown cleaned of escape sequences.
        assert!(!human_badge(&v(Some(false), Some("a\x1b[2Jb")), true).contains('\u{1b}'));
    }
}
