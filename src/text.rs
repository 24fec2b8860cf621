//! Lines llmwatch prints (stderr diagnostics, alert lines, `check`'s output, log files) carry
//! text from outside: cohort values, model and evaluator names, file names, rule names. A
//! terminal acts on control characters in them (ESC sequences clear the screen or write the
//! clipboard, `\r` overwrites a line, bidi overrides reorder it), so every printed line goes
//! through [`escape_lines`] and every value embedded in a line through [`escape`]: controls
//! become visible `\u{1b}`-style escapes instead of acting. The screen drops them instead
//! (`ui::text::clean`), since a cell has no room for an escape; both share [`is_control`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// A character a terminal may act on: C0 controls, DEL, C1 controls (`char::is_control`) and
/// the bidirectional embeddings, overrides and isolates (U+202A..=202E, U+2066..=2069).
pub fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` as one line: every control, newline included, escaped. For values put into a line, so
/// that a value cannot end the line and forge the next one.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, false)
}

/// `s` with every control except the newline escaped: for whole messages, whose own newlines
/// (a multi-line parse error) break lines as meant.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_with(s, true)
}

fn escape_with(s: &str, keep_newline: bool) -> Cow<'_, str> {
    let hostile = |c: char| is_control(c) && !(keep_newline && c == '\n');
    // Most lines hold no control: ASCII printable bytes are skipped without decoding chars.
    let Some(first) = s
        .char_indices()
        .find(|&(_, c)| !(' '..='~').contains(&c) && hostile(c))
        .map(|(i, _)| i)
    else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if !hostile(c) {
            out.push(c);
            continue;
        }
        // The same spelling as `char::escape_debug`, which does not escape every bidi control.
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\0' => out.push_str("\\0"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// JSON text (serde's output) with DEL, the C1 controls and bidi controls written as `\u`
/// escapes too: serde escapes only what JSON requires (below 0x20), and a terminal showing
/// the JSON would act on the rest. Outside strings JSON holds none of these characters, so
/// the result is the same JSON value.
pub fn json_for_terminal(json: String) -> String {
    if !json.chars().any(|c| c > '~' && is_control(c)) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c > '~' && is_control(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes one line to stderr, escaped by [`escape_lines`]. Use through [`eprintln_escaped!`].
pub fn eprint_line(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    crate::eprintln_lossy!("{}", escape_lines(&text));
}

/// `eprintln!` that never panics: once the terminal has gone away (a killed tmux, a closed pty)
/// stderr answers EIO, and a diagnostic must not stop the summary from being written.
#[macro_export]
macro_rules! eprintln_lossy {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `eprintln!` for anything that may hold outside text: the line is escaped by
/// [`escape_lines`] before it reaches the terminal.
#[macro_export]
macro_rules! eprintln_escaped {
    ($($t:tt)*) => { $crate::text::eprint_line(format_args!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_visibly_and_the_rest_is_kept() {
        let cases = [
            ("plain text / route=/a?b", "plain text / route=/a?b"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("\u{1b}]52;c;cm0gLXJmIH4=\u{7}", "\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}"),
            ("a\u{9b}31mb", "a\\u{9b}31mb"),
            ("x\ry", "x\\ry"),
            ("tab\there", "tab\\there"),
            ("nul\0", "nul\\0"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1 \u{85} \u{9f}", "c1 \\u{85} \\u{9f}"),
            ("\u{202e}evil\u{2066}\u{2069}", "\\u{202e}evil\\u{2066}\\u{2069}"),
            ("a\nb", "a\\nb"),
            ("héllo → 世界 \\u{1b}", "héllo → 世界 \\u{1b}"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn lines_keep_their_newlines_and_nothing_hostile_survives() {
        assert_eq!(escape_lines("one\ntwo\u{1b}c\n"), "one\ntwo\\u{1b}c\n");
        let all: String = (0u32..0x300)
            .chain(0x2000..0x2100)
            .filter_map(char::from_u32)
            .collect();
        for out in [escape(&all), escape_lines(&all)] {
            assert!(!out.chars().any(|c| is_control(c) && c != '\n'));
        }
        assert!(!escape(&all).contains('\n'));
    }

    #[test]
    fn json_keeps_its_value_and_loses_raw_c1_and_bidi() {
        let value = serde_json::json!({"tenant": "a\u{1b}b\u{7f}c\u{9b}d\u{202e}e→"});
        let json = json_for_terminal(value.to_string());
        assert_eq!(json, r#"{"tenant":"a\u001bb\u007fc\u009bd\u202ee→"}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap(), value);
        assert_eq!(json_for_terminal("{}".into()), "{}");
    }

    #[test]
    fn clean_text_is_borrowed_and_escaping_twice_changes_nothing() {
        assert!(matches!(escape("llmwatch: 12 spans/s"), Cow::Borrowed(_)));
        let once = escape("\u{1b}[31m\u{202e}x").into_owned();
        assert_eq!(escape(&once), once);
    }
}
