//! The theme file format: a TOML table of `extends`, the roles and `chart_series`, each role a
//! colour or a style table, read into a [`ThemeFile`] of patches. The TOML is parsed by `toml`
//! (keeping where each key and value starts, for the line in errors), colours by ratatui's
//! `Color::from_str`, near misses found by `strsim`; every error is one line naming the key.
//!
//! ratatui's own `Deserialize` for `Color` (its `serde` feature) is not used: it reads strings
//! only (a theme's `39` is an integer), knows no `none`, and says no more than "Failed to parse
//! Colors"; its `Style` takes modifiers as `"BOLD | DIM"`, not the theme's `bold = true`.

use super::depth::ANSI16;
use crate::text::escape;
use ratatui::style::{Color, Modifier, Style};
use std::str::FromStr;
use toml::Value;
use toml::de::{DeTable, ValueDeserializer};

/// Keys of a style table (`{ fg = ..., bg = ..., bold = true }`): the colours, then modifiers
/// named as ratatui's [`Modifier`] flags are, in lower case.
const STYLE_KEYS: &[&str] = &["fg", "bg", "bold", "dim", "italic", "underlined", "reversed"];

const COLOUR_HINT: &str = concat!(
    "a colour is a name such as \"red\", \"lightred\", \"darkgray\" or \"reset\", ",
    "\"#rrggbb\", or a palette index 0-255 (39 or \"indexed:39\")"
);

/// A parsed theme file: only what it says, before it is laid over its parent.
#[derive(Debug, Default)]
pub(super) struct ThemeFile {
    pub extends: Option<String>,
    pub roles: Vec<(&'static str, StyleSpec)>,
    pub chart_series: Option<Vec<StyleSpec>>,
}

/// One role as written: a bare colour, or a table of colours and modifiers. Applied as a patch:
/// what it does not mention keeps the parent's value. A colour of `Some(None)` ("none") unsets it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct StyleSpec {
    /// A bare colour: the foreground, or the background of a fill role.
    colour: Option<Option<Color>>,
    fg: Option<Option<Color>>,
    bg: Option<Option<Color>>,
    add: Modifier,
    remove: Modifier,
}

impl StyleSpec {
    /// `style` with this patch laid over it; a bare colour is the background if `fill`.
    pub fn apply(&self, mut style: Style, fill: bool) -> Style {
        if let Some(c) = self.colour {
            if fill {
                style.bg = c;
            } else {
                style.fg = c;
            }
        }
        if let Some(c) = self.fg {
            style.fg = c;
        }
        if let Some(c) = self.bg {
            style.bg = c;
        }
        style.add_modifier = (style.add_modifier | self.add) - self.remove;
        style
    }
}

/// Reads a theme file whose keys are `extends`, the `roles` and `chart_series`. The error is one
/// line: `key: what is wrong (line N)`, the key missing when the TOML itself does not parse.
pub(super) fn parse(text: &str, roles: &[&'static str]) -> Result<ThemeFile, String> {
    let keys: Vec<&'static str> = ["extends"]
        .into_iter()
        .chain(roles.iter().copied())
        .chain(["chart_series"])
        .collect();
    // Bytes, not a str slice: a span inside a character must not panic.
    let line = |at: usize| {
        text.as_bytes()[..at.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    };
    let table = DeTable::parse(text).map_err(|e| match e.span() {
        Some(span) => format!("{} (line {})", e.message().trim(), line(span.start)),
        None => e.message().trim().to_owned(),
    })?;
    // The table is kept in key order; errors are reported in the file's.
    let mut entries: Vec<_> = table.into_inner().into_iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    let mut file = ThemeFile::default();
    for (key, value) in entries {
        let name = known(key.get_ref(), &keys, "theme key")
            .map_err(|e| format!("{e} (line {})", line(key.span().start)))?;
        let at = line(value.span().start);
        let value: Value = serde::Deserialize::deserialize(ValueDeserializer::from(value))
            .map_err(|e| format!("{name}: {} (line {at})", e.message().trim()))?;
        file.set(name, &value)
            .map_err(|e| format!("{name}: {e} (line {at})"))?;
    }
    Ok(file)
}

impl ThemeFile {
    /// Takes the value of key `name` (a known key).
    fn set(&mut self, name: &'static str, value: &Value) -> Result<(), String> {
        match name {
            "extends" => {
                let parent = value.as_str().ok_or_else(|| invalid(value, "a theme name"))?;
                self.extends = Some(parent.to_owned());
            }
            "chart_series" => self.chart_series = Some(series(value)?),
            role => self.roles.push((role, style_spec(value)?)),
        }
        Ok(())
    }
}

/// `name` if it is one of `known`; else an error naming it and the nearest of `known` (`did you
/// mean`), or all of them when none is near.
pub(super) fn known(name: &str, known: &[&'static str], what: &str) -> Result<&'static str, String> {
    if let Some(k) = known.iter().find(|k| **k == name) {
        return Ok(k);
    }
    let name = escape(name);
    Err(match nearest(&name, known) {
        Some(k) => format!("unknown {what} \"{name}\" (did you mean \"{k}\"?)"),
        None => format!(
            "unknown {what} \"{name}\" (expected one of: {})",
            known.join(", ")
        ),
    })
}

/// The candidate within a few edits of `name` (two, or a quarter of its length), nearest first.
pub(super) fn nearest<'a, S: AsRef<str>>(name: &str, candidates: &'a [S]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(name, c.as_ref()), c.as_ref()))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `invalid type: boolean `true`, expected ...`, in serde's words.
fn invalid(value: &Value, expected: &str) -> String {
    use serde::de::Unexpected;
    let found = match value {
        Value::String(s) => Unexpected::Str(s),
        Value::Integer(i) => Unexpected::Signed(*i),
        Value::Float(f) => Unexpected::Float(*f),
        Value::Boolean(b) => Unexpected::Bool(*b),
        other => Unexpected::Other(other.type_str()),
    };
    format!("invalid type: {found}, expected {expected}")
}

fn series(value: &Value) -> Result<Vec<StyleSpec>, String> {
    let entries = value
        .as_array()
        .ok_or_else(|| invalid(value, "a list of colours or style tables"))?;
    if entries.is_empty() {
        return Err("needs at least one colour".to_owned());
    }
    let entry = |(i, v)| style_spec(v).map_err(|e| format!("entry {}: {e}", i + 1));
    entries.iter().enumerate().map(entry).collect()
}

/// A role: a bare colour, or a table of `fg`, `bg` and modifiers set on (`true`) or off.
fn style_spec(value: &Value) -> Result<StyleSpec, String> {
    let Value::Table(table) = value else {
        let expected = "a colour (\"red\", \"#rrggbb\", 0-255) or a style table ({ fg = ..., bold = true })";
        let colour = colour(value, expected)?;
        return Ok(StyleSpec {
            colour: Some(colour),
            ..StyleSpec::default()
        });
    };
    let mut spec = StyleSpec::default();
    for (key, value) in table {
        let key = known(key, STYLE_KEYS, "style key")?;
        let in_key = |e: String| format!("{key}: {e}");
        let expected = "a colour (\"red\", \"#rrggbb\", 0-255)";
        match key {
            "fg" => spec.fg = Some(colour(value, expected).map_err(in_key)?),
            "bg" => spec.bg = Some(colour(value, expected).map_err(in_key)?),
            modifier => {
                let flag = Modifier::from_name(&modifier.to_ascii_uppercase())
                    .expect("STYLE_KEYS past fg and bg name modifiers");
                if value
                    .as_bool()
                    .ok_or_else(|| in_key(invalid(value, "true or false")))?
                {
                    spec.add |= flag;
                    spec.remove -= flag;
                } else {
                    spec.remove |= flag;
                    spec.add -= flag;
                }
            }
        }
    }
    Ok(spec)
}

/// A colour: a string (see [`parse_colour`]) or an integer palette index.
fn colour(value: &Value, expected: &str) -> Result<Option<Color>, String> {
    match value {
        Value::String(s) => parse_colour(s),
        Value::Integer(i) => palette_index(*i).map(Some),
        other => Err(invalid(other, expected)),
    }
}

fn palette_index(i: i64) -> Result<Color, String> {
    u8::try_from(i)
        .map(Color::Indexed)
        .map_err(|_| format!("palette index {i} is not in 0-255"))
}

/// A colour as theme files write it: what ratatui's `Color::from_str` reads (ANSI names in any
/// case, with `-`, `_` or spaces, `bright` for `light`, `grey` for `gray`; `#rrggbb`; an index
/// `0`-`255`), with spaces around it ignored, plus three spellings of llmwatch's own: `none` (no
/// colour: `Ok(None)`), `default` (the same as `reset`) and `indexed:N`.
fn parse_colour(s: &str) -> Result<Option<Color>, String> {
    let trimmed = s.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower == "none" {
        return Ok(None);
    }
    let unknown = || {
        let name = lower.replace([' ', '-', '_'], "");
        let name = name.replace("bright", "light").replace("grey", "gray");
        // ratatui's names are its `Display` of the colours, in lower case.
        let names: Vec<String> = [Color::Reset]
            .into_iter()
            .chain(ANSI16)
            .map(|c| c.to_string().to_ascii_lowercase())
            .collect();
        match nearest(&name, &names) {
            Some(near) => format!("unknown colour \"{}\" (did you mean \"{near}\"?)", escape(s)),
            None => format!("unknown colour \"{}\"; {COLOUR_HINT}", escape(s)),
        }
    };
    let number = lower.strip_prefix("indexed:").unwrap_or(&lower).trim();
    if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
        return palette_index(number.parse().unwrap_or(i64::MAX)).map(Some);
    }
    let name = if lower == "default" { "reset" } else { trimmed };
    Color::from_str(name).map(Some).map_err(|_| unknown())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some of the theme's roles: the format takes whichever it is given.
    const ROLES: &[&str] = &["base", "muted", "accent", "selection", "sparkline"];

    fn err(text: &str) -> String {
        parse(text, ROLES).expect_err("should be rejected")
    }

    #[test]
    fn unknown_keys_name_the_key_its_line_and_a_near_miss() {
        let e = err("muted = \"gray\"\nacent = \"red\"\n");
        assert_eq!(
            e,
            "unknown theme key \"acent\" (did you mean \"accent\"?) (line 2)"
        );
        let e = err("wibble = 1\n");
        assert!(
            e.starts_with("unknown theme key \"wibble\" (expected one of: extends, base,"),
            "{e}"
        );
        let e = err("selection = { bg = \"blue\", blod = true }\n");
        assert_eq!(
            e,
            "selection: unknown style key \"blod\" (did you mean \"bold\"?) (line 1)"
        );
        // Sections are not a thing either.
        let e = err("[colors]\naccent = \"red\"\n");
        assert!(e.contains("unknown theme key \"colors\""), "{e}");
        // A hostile key cannot end the line or reach the terminal as a control.
        let e = err("\"a\\nb\\u001b[2J\" = 1\n");
        assert!(e.contains(r#""a\nb\u{1b}[2J""#) && !e.contains('\n'), "{e}");
    }

    #[test]
    fn bad_colours_name_the_key_and_a_near_miss() {
        let e = err("\n\naccent = \"blurple\"\n");
        assert!(
            e.starts_with("accent: unknown colour \"blurple\"; a colour is"),
            "{e}"
        );
        assert!(e.ends_with("(line 3)"), "{e}");
        let e = err("accent = \"ligth-red\"\n");
        assert_eq!(
            e,
            "accent: unknown colour \"ligth-red\" (did you mean \"lightred\"?) (line 1)"
        );
        let e = err("selection = { fg = \"#12345\" }\n");
        assert!(e.starts_with("selection: fg: unknown colour \"#12345\""), "{e}");
        let e = err("chart_series = [\"red\",\n  \"nope\"]\n");
        assert!(
            e.starts_with("chart_series: entry 2: unknown colour \"nope\""),
            "{e}"
        );
        assert_eq!(
            err("accent = 300\n"),
            "accent: palette index 300 is not in 0-255 (line 1)"
        );
        assert!(err("accent = -1\n").starts_with("accent: palette index -1"));
        assert!(err("accent = \"indexed:256\"\n").starts_with("accent: palette index 256"));
    }

    #[test]
    fn bad_modifiers_and_types_name_the_key() {
        let e = err("selection = { bold = \"yes\" }\n");
        assert_eq!(
            e,
            "selection: bold: invalid type: string \"yes\", expected true or false (line 1)"
        );
        let e = err("selection = { fg = true }\n");
        assert!(
            e.starts_with("selection: fg: invalid type: boolean `true`, expected a colour"),
            "{e}"
        );
        assert!(err("accent = true\n").starts_with("accent: invalid type: boolean"));
        assert!(err("accent = [1]\n").starts_with("accent: invalid type: array"));
        assert!(err("chart_series = \"red\"\n").starts_with("chart_series: invalid type: string"));
        assert!(err("chart_series = []\n").starts_with("chart_series: needs at least one colour"));
        assert!(err("extends = 3\n").starts_with("extends: invalid type: integer"));
        // TOML that does not parse, and a key given twice: the line, no key.
        let e = err("accent = \"red\n");
        assert!(e.ends_with("(line 1)"), "{e}");
        let e = err("accent = \"red\"\naccent = \"blue\"\n");
        assert!(e.starts_with("duplicate key") && e.ends_with("(line 2)"), "{e}");
    }

    #[test]
    fn hostile_files_are_errors_not_panics() {
        for text in [
            "é = \"\u{1F600}",
            "accent = \"é",
            "[[a]]\nb = 1\n",
            "a.b.c = 1\n",
            "accent = { fg = \"red\", fg = \"blue\" }\n",
            "accent = { fg = { fg = \"red\" } }\n",
            "chart_series = [[\"red\"]]\n",
            "accent = 1979-05-27T07:32:00Z\n",
            "accent = \"\u{1b}[31m\u{202e}\"\n",
            "\u{0}",
        ] {
            let e = parse(text, ROLES).expect_err(text);
            assert!(!e.contains('\n') && !e.contains('\u{1b}'), "{text:?}: {e}");
        }
    }

    /// The spellings of the format before ratatui read the colours all still read the same;
    /// ratatui's own extras (`silver`, `lightgray` as white) come along.
    #[test]
    fn colour_spellings() {
        let ok = |s: &str| parse_colour(s).unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            ("red", Color::Red),
            ("LightRed", Color::LightRed),
            ("light-red", Color::LightRed),
            ("bright_blue", Color::LightBlue),
            ("darkgrey", Color::DarkGray),
            ("bright black", Color::DarkGray),
            ("white", Color::White),
            ("reset", Color::Reset),
            ("default", Color::Reset),
            ("#ffAA00", Color::Rgb(255, 0xaa, 0)),
            (" #000000 ", Color::Rgb(0, 0, 0)),
            ("indexed:39", Color::Indexed(39)),
            ("Indexed: 7", Color::Indexed(7)),
            ("255", Color::Indexed(255)),
            ("silver", Color::Gray),
            ("lightgray", Color::White),
        ];
        for (s, want) in cases {
            assert_eq!(ok(s), Some(want), "{s}");
        }
        assert_eq!(ok("None"), None);
        for bad in [
            "",
            "blurple",
            "#fff",
            "#gggggg",
            "#1234567",
            "indexed:x",
            "rgb(1,2,3)",
        ] {
            let e = parse_colour(bad).expect_err(bad);
            assert!(e.contains(&format!("\"{bad}\"")), "{bad}: {e}");
        }
    }

    #[test]
    fn near_misses() {
        assert_eq!(nearest("acent", ROLES), Some("accent"));
        assert_eq!(nearest("sparklines", ROLES), Some("sparkline"));
        assert_eq!(nearest("colour", ROLES), None);
        assert_eq!(
            nearest("lihgt", &["dark", "light", "high-contrast"]),
            Some("light")
        );
    }
}
