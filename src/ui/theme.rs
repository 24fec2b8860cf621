//! Colour themes: one [`Style`] per role (base text, borders, selection, errors, chart series, ...),
//! read from TOML, with three built-ins embedded in the binary (`dark`, the default, `light` and
//! `high-contrast`) and reduced to what the terminal can show ([`ColorDepth`]).
//!
//! A theme file lists only the roles it changes; the rest come from the theme it `extends`
//! (`dark` unless it says otherwise):
//!
//! ```toml
//! extends = "light"
//! accent = "#8700af"                                       # a bare colour: the foreground ...
//! status_bar = "#d7d7ff"                                   # ... or the fill, for fill roles
//! selection = { fg = "black", bg = 153, bold = true }      # or a table: fg, bg and modifiers
//! chart_series = ["#005fd7", "indexed:166", "darkgray"]
//! ```
//!
//! Colours are ANSI names (`red`, `lightred`, `darkgray`, `reset`, ...), `"#rrggbb"`, an
//! xterm-256 palette index (`39` or `"indexed:39"`), or `"none"` to unset the parent's colour.
//! Unknown keys and bad colours are errors that name the file, the key and the line.
//! `themes/README.md` documents the format for users.

use ratatui::style::{Color, Modifier, Style};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::str::FromStr;

/// Names of the built-in themes, in the order `--help` and error messages list them.
const BUILTIN_NAMES: &[&str] = &["dark", "light", "high-contrast"];

/// Built-in theme sources, embedded so the binary needs no files at run time.
const BUILTINS: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

/// The theme a file extends when it does not say, and the one `Theme::load(None)` gives.
const DEFAULT_THEME: &str = "dark";

/// Names of the built-in themes (`dark`, `light`, `high-contrast`).
pub fn builtin_names() -> &'static [&'static str] {
    BUILTIN_NAMES
}

/// The colours of the dashboard, one style per role. Roles marked *fill* colour an area: a bare
/// colour given for them in a theme file sets the background; for the others it sets the
/// foreground. A style's `None` colours let whatever is underneath show through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Default text and screen background; a `Reset` background lets the terminal's own show.
    pub base: Style,
    /// Secondary text: timestamps, units, axis labels, key hints, empty-state text.
    pub muted: Style,
    /// Pane titles, the selection marker and other highlights.
    pub accent: Style,
    /// Borders of panes without focus.
    pub border: Style,
    /// The border of the focused pane.
    pub border_focused: Style,
    /// The selected row of a table or list (fill).
    pub selection: Style,
    /// Table column headers.
    pub header: Style,
    /// Errors: failed calls, error counts and messages.
    pub error: Style,
    /// Warnings: slow calls, dropped data, costs near a budget.
    pub warn: Style,
    /// Healthy state: successful calls, receivers up.
    pub ok: Style,
    /// An evaluation verdict that passed.
    pub verdict_pass: Style,
    /// An evaluation verdict that failed.
    pub verdict_fail: Style,
    /// Colours for split chart series (one per model, route, ...); [`Theme::series`] cycles them.
    pub chart_series: Vec<Style>,
    /// The traces (requests) series of the throughput chart.
    pub chart_traces: Style,
    /// The errors series of the throughput chart.
    pub chart_errors: Style,
    /// Sparklines.
    pub sparkline: Style,
    /// The status bar along the bottom (fill).
    pub status_bar: Style,
    /// The state badge while showing live traffic (fill).
    pub badge_live: Style,
    /// The state badge while the display is paused (fill).
    pub badge_paused: Style,
    /// The state badge while replaying a recording (fill).
    pub badge_replay: Style,
    /// The alert banner (fill).
    pub alert: Style,
}

/// Every key a theme file may hold: `extends`, then the roles in [`Theme`] field order.
const KEYS: &[&str] = &[
    "extends",
    "base",
    "muted",
    "accent",
    "border",
    "border_focused",
    "selection",
    "header",
    "error",
    "warn",
    "ok",
    "verdict_pass",
    "verdict_fail",
    "chart_series",
    "chart_traces",
    "chart_errors",
    "sparkline",
    "status_bar",
    "badge_live",
    "badge_paused",
    "badge_replay",
    "alert",
];

/// Roles that colour an area: a bare colour sets their background.
const FILL_ROLES: &[&str] = &[
    "selection",
    "status_bar",
    "badge_live",
    "badge_paused",
    "badge_replay",
    "alert",
];

/// Keys of a style table (`{ fg = ..., bg = ..., bold = true }`).
const STYLE_KEYS: &[&str] = &["fg", "bg", "bold", "dim", "italic", "underlined", "reversed"];

impl Default for Theme {
    /// The built-in `dark` theme.
    fn default() -> Self {
        Theme::builtin(DEFAULT_THEME).expect("the built-in dark theme parses (tested)")
    }
}

impl Theme {
    /// Names of the built-in themes; the same as [`builtin_names`].
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// The theme for `--theme`: `None` gives `dark`; a built-in name gives that theme; anything
    /// that looks like a path (contains `/` or `\`, or ends in `.toml`) is read as a theme file.
    pub fn load(name_or_path: Option<&str>) -> Result<Theme, ThemeError> {
        let arg = name_or_path.unwrap_or(DEFAULT_THEME);
        if builtin_source(arg).is_some() {
            return Theme::builtin(arg);
        }
        let looks_like_path =
            arg.contains('/') || arg.contains('\\') || arg.to_ascii_lowercase().ends_with(".toml");
        if !looks_like_path {
            return Err(ThemeError::Unknown { name: arg.to_owned() });
        }
        let text = std::fs::read_to_string(arg).map_err(|source| ThemeError::Read {
            path: arg.to_owned(),
            source,
        })?;
        Theme::from_toml(&text, arg)
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Theme, ThemeError> {
        builtin_theme(name, 0)
    }

    /// A theme from TOML text; `origin` (usually the path) prefixes error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let file = parse_file(text, origin)?;
        resolve(file, origin, 0)
    }

    /// Colour `i` of the split-series palette, cycling when there are more series than colours.
    pub fn series(&self, i: usize) -> Style {
        match self.chart_series.len() {
            0 => self.base,
            n => self.chart_series[i % n],
        }
    }

    /// The border style for a pane with or without focus.
    pub fn border_for(&self, focused: bool) -> Style {
        if focused { self.border_focused } else { self.border }
    }

    /// This theme reduced to what a terminal of `depth` can show. RGB colours become the nearest
    /// xterm-256 colour ([`ColorDepth::Ansi256`]) or ANSI colour ([`ColorDepth::Ansi16`]); with
    /// [`ColorDepth::None`] every colour becomes `Reset` and roles are told apart by a fixed set
    /// of modifiers instead (errors bold, warnings underlined, muted dim, selection reversed, ...).
    pub fn for_depth(mut self, depth: ColorDepth) -> Theme {
        for (role, style) in self.roles_mut() {
            *style = match depth {
                ColorDepth::None => monochrome(*style, monochrome_emphasis(role)),
                _ => map_colours(*style, depth),
            };
        }
        for style in &mut self.chart_series {
            *style = match depth {
                ColorDepth::None => monochrome(*style, Modifier::empty()),
                _ => map_colours(*style, depth),
            };
        }
        self
    }

    /// A theme with every role empty: what the root theme (`dark`) is laid over.
    fn blank() -> Theme {
        Theme {
            base: Style::new(),
            muted: Style::new(),
            accent: Style::new(),
            border: Style::new(),
            border_focused: Style::new(),
            selection: Style::new(),
            header: Style::new(),
            error: Style::new(),
            warn: Style::new(),
            ok: Style::new(),
            verdict_pass: Style::new(),
            verdict_fail: Style::new(),
            chart_series: vec![Style::new()],
            chart_traces: Style::new(),
            chart_errors: Style::new(),
            sparkline: Style::new(),
            status_bar: Style::new(),
            badge_live: Style::new(),
            badge_paused: Style::new(),
            badge_replay: Style::new(),
            alert: Style::new(),
        }
    }

    /// Every single-style role with its key (all of [`KEYS`] but `extends` and `chart_series`).
    fn roles_mut(&mut self) -> [(&'static str, &mut Style); 20] {
        [
            ("base", &mut self.base),
            ("muted", &mut self.muted),
            ("accent", &mut self.accent),
            ("border", &mut self.border),
            ("border_focused", &mut self.border_focused),
            ("selection", &mut self.selection),
            ("header", &mut self.header),
            ("error", &mut self.error),
            ("warn", &mut self.warn),
            ("ok", &mut self.ok),
            ("verdict_pass", &mut self.verdict_pass),
            ("verdict_fail", &mut self.verdict_fail),
            ("chart_traces", &mut self.chart_traces),
            ("chart_errors", &mut self.chart_errors),
            ("sparkline", &mut self.sparkline),
            ("status_bar", &mut self.status_bar),
            ("badge_live", &mut self.badge_live),
            ("badge_paused", &mut self.badge_paused),
            ("badge_replay", &mut self.badge_replay),
            ("alert", &mut self.alert),
        ]
    }

    fn role_mut(&mut self, key: &str) -> Option<&mut Style> {
        self.roles_mut()
            .into_iter()
            .find(|(name, _)| *name == key)
            .map(|(_, style)| style)
    }
}

/// Why a theme could not be loaded. Messages name the file (or built-in) and the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "unknown theme \"{name}\": the built-in themes are {}; a theme file is given by its path \
         (containing '/' or ending in .toml)",
        BUILTIN_NAMES.join(", ")
    )]
    Unknown { name: String },
    #[error("cannot read theme {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

fn builtin_theme(name: &str, depth: u8) -> Result<Theme, ThemeError> {
    let src = builtin_source(name).ok_or_else(|| ThemeError::Unknown {
        name: name.to_owned(),
    })?;
    let origin = format!("built-in theme {name}");
    let file = parse_file(src, &origin)?;
    if file.extends.is_none() {
        // Built-ins set every role (tested), so nothing of another theme shows through a role
        // they set partly (high-contrast's selection is reversed, with no colours of dark's).
        return Ok(apply(Theme::blank(), &file));
    }
    resolve(file, &origin, depth)
}

/// The parent theme (`extends`, default `dark`) with the file's overrides laid over it.
fn resolve(file: ThemeFile, origin: &str, depth: u8) -> Result<Theme, ThemeError> {
    let parent_name = file.extends.as_deref().unwrap_or(DEFAULT_THEME);
    if builtin_source(parent_name).is_none() {
        return Err(ThemeError::Invalid {
            origin: origin.to_owned(),
            message: format!(
                "extends: unknown built-in theme \"{parent_name}\" (built-in themes: {})",
                BUILTIN_NAMES.join(", ")
            ),
        });
    }
    if depth > 4 {
        return Err(ThemeError::Invalid {
            origin: origin.to_owned(),
            message: "extends: the chain of themes loops".to_owned(),
        });
    }
    let parent = builtin_theme(parent_name, depth + 1)?;
    Ok(apply(parent, &file))
}

fn apply(mut theme: Theme, file: &ThemeFile) -> Theme {
    for (key, spec) in &file.roles {
        if let Some(style) = theme.role_mut(key) {
            *style = spec.apply(*style, FILL_ROLES.contains(key));
        }
    }
    if let Some(series) = &file.chart_series {
        theme.chart_series = series
            .iter()
            .map(|spec| spec.apply(Style::new(), false))
            .collect();
    }
    theme
}

// ---------------------------------------------------------------------------------------------
// The file format.

/// A parsed theme file: only what it says, before it is laid over its parent.
#[derive(Debug, Default)]
struct ThemeFile {
    extends: Option<String>,
    roles: Vec<(&'static str, StyleSpec)>,
    chart_series: Option<Vec<StyleSpec>>,
}

/// One role as written: a bare colour, or a table of colours and modifiers. Applied as a patch:
/// what it does not mention keeps the parent's value. A colour of `Some(None)` ("none") unsets it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct StyleSpec {
    /// A bare colour: the foreground, or the background of a fill role.
    colour: Option<Option<Color>>,
    fg: Option<Option<Color>>,
    bg: Option<Option<Color>>,
    add: Modifier,
    remove: Modifier,
}

impl StyleSpec {
    fn apply(&self, mut style: Style, fill: bool) -> Style {
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

fn parse_file(text: &str, origin: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str::<ThemeFile>(text).map_err(|e| {
        let mut message = e.message().trim().to_owned();
        if let Some(span) = e.span() {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            message.push_str(&format!(" (line {line})"));
        }
        ThemeError::Invalid {
            origin: origin.to_owned(),
            message,
        }
    })
}

impl<'de> de::Deserialize<'de> for ThemeFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FileVisitor)
    }
}

struct FileVisitor;

impl<'de> Visitor<'de> for FileVisitor {
    type Value = ThemeFile;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a theme table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ThemeFile, A::Error> {
        let mut file = ThemeFile::default();
        let keys = KeySeed {
            known: KEYS,
            what: "theme key",
        };
        while let Some(key) = map.next_key_seed(keys)? {
            match key {
                "extends" => {
                    file.extends = Some(map.next_value_seed(Keyed {
                        key: "extends",
                        seed: NameSeed,
                    })?);
                }
                "chart_series" => {
                    let series = map.next_value_seed(Keyed {
                        key: "chart_series",
                        seed: SeriesSeed,
                    })?;
                    file.chart_series = Some(series);
                }
                role => {
                    let spec = map.next_value_seed(Keyed {
                        key: role,
                        seed: SpecSeed,
                    })?;
                    file.roles.push((role, spec));
                }
            }
        }
        Ok(file)
    }
}

/// A key that must be one of `known`: checked while the key is read, so errors carry its line.
#[derive(Clone, Copy)]
struct KeySeed {
    known: &'static [&'static str],
    what: &'static str,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        let key = <String as de::Deserialize>::deserialize(d)?;
        match self.known.iter().find(|k| **k == key) {
            Some(k) => Ok(k),
            None => Err(de::Error::custom(unknown_key(&key, self.known, self.what))),
        }
    }
}

/// `unknown key "acent" (did you mean "accent"?)`, or the list of keys when nothing is close.
fn unknown_key(key: &str, known: &[&str], what: &str) -> String {
    let close = known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d);
    match close {
        Some((_, k)) => format!("unknown {what} \"{key}\" (did you mean \"{k}\"?)"),
        None => format!("unknown {what} \"{key}\" (expected one of: {})", known.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Runs `seed` and prefixes any error with the key it was reading (`accent: unknown colour ...`).
struct Keyed<S> {
    key: &'static str,
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Keyed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let key = self.key;
        self.seed.deserialize(d).map_err(|e| prefixed(key, e))
    }
}

/// `error` with `prefix: ` before its message. A TOML error displays the keys it passed through
/// on a line of their own (``in `fg` ``): that line is dropped, the prefix says it.
fn prefixed<E: de::Error>(prefix: impl fmt::Display, error: E) -> E {
    let text = error.to_string();
    let message: Vec<&str> = text
        .lines()
        .filter(|l| !(l.starts_with("in `") && l.ends_with('`')))
        .map(str::trim)
        .collect();
    E::custom(format!("{prefix}: {}", message.join(" ").trim()))
}

struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        <String as de::Deserialize>::deserialize(d)
    }
}

struct SeriesSeed;

impl<'de> DeserializeSeed<'de> for SeriesSeed {
    type Value = Vec<StyleSpec>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<StyleSpec>, D::Error> {
        d.deserialize_seq(SeriesVisitor)
    }
}

struct SeriesVisitor;

impl<'de> Visitor<'de> for SeriesVisitor {
    type Value = Vec<StyleSpec>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of colours or style tables")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<StyleSpec>, A::Error> {
        let mut out = Vec::new();
        loop {
            let i = out.len();
            let next = seq
                .next_element_seed(SpecSeed)
                .map_err(|e| prefixed(format_args!("entry {}", i + 1), e))?;
            match next {
                Some(spec) => out.push(spec),
                None => break,
            }
        }
        if out.is_empty() {
            return Err(de::Error::custom("needs at least one colour"));
        }
        Ok(out)
    }
}

struct SpecSeed;

impl<'de> DeserializeSeed<'de> for SpecSeed {
    type Value = StyleSpec;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StyleSpec, D::Error> {
        d.deserialize_any(SpecVisitor)
    }
}

const COLOUR_HINT: &str = concat!(
    "a colour is a name such as \"red\", \"lightred\", \"darkgray\" or \"reset\", ",
    "\"#rrggbb\", or a palette index 0-255 (39 or \"indexed:39\")"
);

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = StyleSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a colour (\"red\", \"#rrggbb\", 0-255) or a style table ({ fg = ..., bold = true })")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StyleSpec, E> {
        Ok(StyleSpec {
            colour: Some(parse_colour_or_none(v).map_err(E::custom)?),
            ..StyleSpec::default()
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StyleSpec, E> {
        Ok(StyleSpec {
            colour: Some(Some(colour_index(v).map_err(E::custom)?)),
            ..StyleSpec::default()
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StyleSpec, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StyleSpec, A::Error> {
        let mut spec = StyleSpec::default();
        let keys = KeySeed {
            known: STYLE_KEYS,
            what: "style key",
        };
        while let Some(key) = map.next_key_seed(keys)? {
            let modifier = match key {
                "fg" | "bg" => {
                    let colour = map.next_value_seed(ColourSeed).map_err(|e| prefixed(key, e))?;
                    if key == "fg" {
                        spec.fg = Some(colour);
                    } else {
                        spec.bg = Some(colour);
                    }
                    continue;
                }
                "bold" => Modifier::BOLD,
                "dim" => Modifier::DIM,
                "italic" => Modifier::ITALIC,
                "underlined" => Modifier::UNDERLINED,
                "reversed" => Modifier::REVERSED,
                other => unreachable!("KeySeed admits only STYLE_KEYS, not {other}"),
            };
            let on: bool = map.next_value().map_err(|e| prefixed(key, e))?;
            if on {
                spec.add |= modifier;
                spec.remove -= modifier;
            } else {
                spec.remove |= modifier;
                spec.add -= modifier;
            }
        }
        Ok(spec)
    }
}

/// A colour, or `None` for "none" (unset: whatever is underneath shows).
struct ColourSeed;

impl<'de> DeserializeSeed<'de> for ColourSeed {
    type Value = Option<Color>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Color>, D::Error> {
        d.deserialize_any(ColourVisitor)
    }
}

struct ColourVisitor;

impl<'de> Visitor<'de> for ColourVisitor {
    type Value = Option<Color>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a colour (\"red\", \"#rrggbb\", 0-255)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Color>, E> {
        parse_colour_or_none(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Color>, E> {
        colour_index(v).map(Some).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Color>, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

/// [`parse_colour`], or `None` for "none".
fn parse_colour_or_none(s: &str) -> Result<Option<Color>, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        Ok(None)
    } else {
        parse_colour(s).map(Some)
    }
}

fn colour_index(v: i64) -> Result<Color, String> {
    u8::try_from(v)
        .map(Color::Indexed)
        .map_err(|_| format!("palette index {v} is not in 0-255"))
}

/// Parses a colour as theme files write it: an ANSI name (case, `-`, `_` and spaces ignored;
/// `bright*` = `light*`, `grey` = `gray`), `#rrggbb`, `indexed:N` or a bare index `N`.
fn parse_colour(s: &str) -> Result<Color, String> {
    let unknown = || format!("unknown colour \"{s}\"; {COLOUR_HINT}");
    let t = s.trim();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| unknown());
        return Ok(Color::Rgb(channel(0)?, channel(2)?, channel(4)?));
    }
    let lower = t.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("indexed:") {
        let n: i64 = n.trim().parse().map_err(|_| unknown())?;
        return colour_index(n);
    }
    if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
        return colour_index(lower.parse().unwrap_or(i64::MAX));
    }
    let name: String = lower.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect();
    let name = name.replace("bright", "light").replace("grey", "gray");
    Ok(match name.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "darkgray" | "lightblack" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" | "lightwhite" => Color::White,
        _ => return Err(unknown()),
    })
}

// ---------------------------------------------------------------------------------------------
// Colour depth.

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorDepth {
    /// 24-bit RGB.
    TrueColor,
    /// The xterm 256-colour palette.
    Ansi256,
    /// The 16 ANSI colours.
    Ansi16,
    /// No colour at all (`NO_COLOR`, `TERM=dumb`): roles are told apart by bold, dim, reverse, ...
    None,
}

impl ColorDepth {
    /// The depth the environment asks for: see [`ColorDepth::from_env`].
    pub fn detect() -> ColorDepth {
        let no_color = std::env::var_os("NO_COLOR").map(|v| v.to_string_lossy().into_owned());
        let colorterm = std::env::var("COLORTERM").ok();
        let term = std::env::var("TERM").ok();
        ColorDepth::from_env(no_color.as_deref(), colorterm.as_deref(), term.as_deref())
    }

    /// The depth for these values of `NO_COLOR`, `COLORTERM` and `TERM`: `NO_COLOR` set and not
    /// empty (no-color.org) or `TERM=dumb` → None; `COLORTERM` `truecolor`/`24bit`, or a `TERM`
    /// ending in `-direct` → TrueColor; a `TERM` containing `256color` → Ansi256; else Ansi16.
    pub fn from_env(no_color: Option<&str>, colorterm: Option<&str>, term: Option<&str>) -> ColorDepth {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorDepth::None;
        }
        let term = term.unwrap_or("").trim().to_ascii_lowercase();
        if term == "dumb" {
            return ColorDepth::None;
        }
        let colorterm = colorterm.unwrap_or("").trim().to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" || term.ends_with("-direct") {
            return ColorDepth::TrueColor;
        }
        if term.contains("256color") {
            return ColorDepth::Ansi256;
        }
        ColorDepth::Ansi16
    }

    /// `colour` as a terminal of this depth can show it: RGB to the nearest xterm-256 index or
    /// ANSI colour, everything to `Reset` for [`ColorDepth::None`].
    pub fn adapt(self, colour: Color) -> Color {
        match (self, colour) {
            (ColorDepth::TrueColor, c) => c,
            (ColorDepth::None, _) => Color::Reset,
            (ColorDepth::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(rgb_to_ansi256(r, g, b)),
            (ColorDepth::Ansi256, c) => c,
            (ColorDepth::Ansi16, Color::Rgb(r, g, b)) => rgb_to_ansi16(r, g, b),
            (ColorDepth::Ansi16, Color::Indexed(i)) => match ANSI16.get(usize::from(i)) {
                Some(named) => *named,
                None => {
                    let (r, g, b) = ansi256_to_rgb(i);
                    rgb_to_ansi16(r, g, b)
                }
            },
            (ColorDepth::Ansi16, c) => c,
        }
    }
}

impl FromStr for ColorDepth {
    type Err = String;

    /// `truecolor`/`24bit`, `256`, `16`, or `none`/`never`/`off` (for a `--color` flag).
    fn from_str(s: &str) -> Result<ColorDepth, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "truecolor" | "24bit" | "rgb" => Ok(ColorDepth::TrueColor),
            "256" | "ansi256" => Ok(ColorDepth::Ansi256),
            "16" | "ansi16" | "ansi" => Ok(ColorDepth::Ansi16),
            "none" | "never" | "off" | "mono" => Ok(ColorDepth::None),
            _ => Err(format!(
                "unknown colour depth \"{s}\" (expected truecolor, 256, 16 or none)"
            )),
        }
    }
}

/// The 16 ANSI colours in palette-index order.
const ANSI16: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// Channel levels of the xterm 6x6x6 colour cube (indexes 16-231).
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The RGB value of xterm-256 colour `i` (16-255; the first 16 are the terminal's own choice, so
/// they get xterm's defaults).
fn ansi256_to_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => XTERM16[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            (
                CUBE[usize::from(i / 36)],
                CUBE[usize::from(i / 6 % 6)],
                CUBE[usize::from(i % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

/// xterm's default RGB values for the 16 ANSI colours.
const XTERM16: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// The nearest xterm-256 colour to an RGB value, among the 6x6x6 cube and the 24-step grey ramp
/// (indexes 16-255; 0-15 are left out because every terminal sets them differently). Nearest is
/// by Euclidean distance in RGB.
pub fn rgb_to_ansi256(r: u8, g: u8, b: u8) -> u8 {
    let dist = |(r2, g2, b2): (u8, u8, u8)| {
        let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
        d(r, r2) + d(g, g2) + d(b, b2)
    };
    // The nearest cube colour is the nearest level on each channel (the distance is separable).
    let level = |v: u8| {
        (0..6)
            .min_by_key(|&k| (i32::from(CUBE[k]) - i32::from(v)).abs())
            .expect("six cube levels")
    };
    let (ri, gi, bi) = (level(r), level(g), level(b));
    let cube_index = 16 + 36 * ri + 6 * gi + bi;
    let cube = (CUBE[ri], CUBE[gi], CUBE[bi]);
    // The nearest grey: ramp value 8 + 10k closest to the mean of the channels, checked both ways.
    let mean = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let k = (mean.saturating_sub(8) / 10).min(23) as u8;
    let grey_index = [k, (k + 1).min(23)]
        .into_iter()
        .map(|k| 232 + k)
        .min_by_key(|&i| dist(ansi256_to_rgb(i)))
        .unwrap_or(232);
    if dist(ansi256_to_rgb(grey_index)) < dist(cube) {
        grey_index
    } else {
        cube_index as u8
    }
}

/// The ANSI colour that an RGB value reads as: the nearest of the 16 by hue and lightness. Greys
/// (low saturation) go by lightness to black, dark grey, grey or white; other colours by hue to
/// red, yellow, green, cyan, blue or magenta, the light variant when the colour is at full
/// intensity or light, black when it is very dark. Plain RGB distance to a nominal 16-colour
/// palette is not used because it sends pale and mid-tone colours (`#ff5f5f`, `#87afd7`) to
/// grey, which every terminal palette then shows as something else.
pub fn rgb_to_ansi16(r: u8, g: u8, b: u8) -> Color {
    let (rf, gf, bf) = (f32::from(r), f32::from(g), f32::from(b));
    let max = rf.max(gf).max(bf);
    let min = rf.min(gf).min(bf);
    let chroma = max - min;
    if chroma < 32.0 || chroma < 0.25 * max {
        let lightness = (max + min) / 2.0;
        return match lightness {
            l if l < 64.0 => Color::Black,
            l if l < 160.0 => Color::DarkGray,
            l if l < 232.0 => Color::Gray,
            _ => Color::White,
        };
    }
    if max < 80.0 {
        return Color::Black;
    }
    let hue = if max == rf {
        60.0 * ((gf - bf) / chroma).rem_euclid(6.0)
    } else if max == gf {
        60.0 * ((bf - rf) / chroma + 2.0)
    } else {
        60.0 * ((rf - gf) / chroma + 4.0)
    };
    // Light variant: near-full intensity (xterm's own `#0000ee` blue stays normal) or light.
    let bright = max >= 240.0 || (max + min) / 2.0 >= 160.0;
    let pick = |normal: Color, light: Color| if bright { light } else { normal };
    match hue {
        h if !(25.0..330.0).contains(&h) => pick(Color::Red, Color::LightRed),
        h if h < 75.0 => pick(Color::Yellow, Color::LightYellow),
        h if h < 155.0 => pick(Color::Green, Color::LightGreen),
        h if h < 200.0 => pick(Color::Cyan, Color::LightCyan),
        h if h < 265.0 => pick(Color::Blue, Color::LightBlue),
        _ => pick(Color::Magenta, Color::LightMagenta),
    }
}

fn map_colours(mut style: Style, depth: ColorDepth) -> Style {
    style.fg = style.fg.map(|c| depth.adapt(c));
    style.bg = style.bg.map(|c| depth.adapt(c));
    style
}

/// A style without colour: every colour it sets becomes `Reset`, and its modifiers are replaced
/// by `emphasis`, so that a theme's own (high-contrast makes error and ok both bold) cannot make
/// two roles look alike.
fn monochrome(style: Style, emphasis: Modifier) -> Style {
    let mut out = Style::new().add_modifier(emphasis);
    out.fg = style.fg.map(|_| Color::Reset);
    out.bg = style.bg.map(|_| Color::Reset);
    out
}

/// How a role stands out when there is no colour.
fn monochrome_emphasis(role: &str) -> Modifier {
    match role {
        "muted" => Modifier::DIM,
        "accent" | "border_focused" | "error" | "chart_errors" => Modifier::BOLD,
        "header" => Modifier::BOLD | Modifier::UNDERLINED,
        "warn" => Modifier::UNDERLINED,
        "verdict_fail" => Modifier::BOLD | Modifier::UNDERLINED,
        "selection" | "status_bar" => Modifier::REVERSED,
        "badge_live" | "alert" => Modifier::REVERSED | Modifier::BOLD,
        "badge_paused" => Modifier::REVERSED | Modifier::DIM,
        "badge_replay" => Modifier::REVERSED | Modifier::UNDERLINED,
        _ => Modifier::empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTHS: [ColorDepth; 4] = [
        ColorDepth::TrueColor,
        ColorDepth::Ansi256,
        ColorDepth::Ansi16,
        ColorDepth::None,
    ];

    fn err(text: &str, origin: &str) -> String {
        Theme::from_toml(text, origin)
            .expect_err("should be rejected")
            .to_string()
    }

    fn theme(text: &str) -> Theme {
        Theme::from_toml(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn all_styles(t: &mut Theme) -> Vec<(&'static str, Style)> {
        let mut out: Vec<_> = t.roles_mut().into_iter().map(|(n, s)| (n, *s)).collect();
        out.extend(t.chart_series.iter().map(|s| ("chart_series", *s)));
        out
    }

    #[test]
    fn every_builtin_parses_and_sets_every_key() {
        assert_eq!(builtin_names(), Theme::builtin_names());
        assert_eq!(builtin_names().len(), BUILTINS.len());
        for name in builtin_names() {
            let theme = Theme::builtin(name).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                theme.chart_series.len() >= 6,
                "{name}: at least six series colours"
            );
            let file = parse_file(builtin_source(name).unwrap(), name).unwrap();
            assert_eq!(
                file.extends, None,
                "{name}: built-ins are complete, not extensions"
            );
            for key in &KEYS[1..] {
                let set = file.roles.iter().any(|(k, _)| k == key)
                    || (*key == "chart_series" && file.chart_series.is_some());
                assert!(set, "built-in theme {name} does not set {key}");
            }
        }
    }

    #[test]
    fn keys_match_the_struct_fields() {
        let mut t = Theme::blank();
        let roles: Vec<&str> = t.roles_mut().into_iter().map(|(n, _)| n).collect();
        let keys: Vec<&str> = KEYS[1..]
            .iter()
            .copied()
            .filter(|k| *k != "chart_series")
            .collect();
        assert_eq!(roles, keys);
        for fill in FILL_ROLES {
            assert!(KEYS.contains(fill), "{fill}");
        }
    }

    #[test]
    fn load_resolves_names_and_paths() {
        let dark = Theme::builtin("dark").unwrap();
        assert_eq!(Theme::load(None).unwrap(), dark);
        assert_eq!(Theme::default(), dark);
        assert_eq!(
            Theme::load(Some("light")).unwrap(),
            Theme::builtin("light").unwrap()
        );
        assert_ne!(Theme::load(Some("light")).unwrap(), dark);

        let e = Theme::load(Some("solarized")).unwrap_err();
        assert!(matches!(e, ThemeError::Unknown { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("\"solarized\"") && msg.contains("dark, light, high-contrast"),
            "{msg}"
        );

        let e = Theme::load(Some("no/such/theme.toml")).unwrap_err();
        assert!(matches!(e, ThemeError::Read { .. }), "{e}");
        assert!(e.to_string().contains("no/such/theme.toml"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "extends = \"high-contrast\"\nerror = \"magenta\"\n").unwrap();
        let mine = Theme::load(Some(path.to_str().unwrap())).unwrap();
        let hc = Theme::builtin("high-contrast").unwrap();
        assert_eq!(
            mine.error,
            hc.error.fg(Color::Magenta),
            "keeps high-contrast's bold"
        );
        assert_eq!(
            Theme {
                error: hc.error,
                ..mine
            },
            hc
        );

        std::fs::write(&path, "acent = \"red\"\n").unwrap();
        let msg = Theme::load(Some(path.to_str().unwrap())).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}: ", path.display())), "{msg}");
    }

    #[test]
    fn a_user_theme_overrides_only_what_it_lists() {
        // Default parent: dark.
        let dark = Theme::builtin("dark").unwrap();
        assert_eq!(theme(""), dark);
        let t = theme("accent = \"red\"\n");
        assert_eq!(t.accent, dark.accent.fg(Color::Red));
        assert_eq!(
            Theme {
                accent: dark.accent,
                ..t
            },
            dark
        );

        let light = Theme::builtin("light").unwrap();
        let t = theme("extends = \"light\"\nwarn = \"#875f00\"\nchart_series = [\"red\", 33]\n");
        assert_eq!(t.warn.fg, Some(Color::Rgb(0x87, 0x5f, 0)));
        assert_eq!(
            t.chart_series,
            vec![Style::new().fg(Color::Red), Style::new().fg(Color::Indexed(33))]
        );
        assert_eq!(
            Theme {
                warn: light.warn,
                chart_series: light.chart_series.clone(),
                ..t
            },
            light
        );

        let e = err("extends = \"solarized\"\n", "mine.toml");
        assert!(
            e.starts_with("mine.toml: extends: unknown built-in theme \"solarized\""),
            "{e}"
        );
        assert!(e.contains("dark, light, high-contrast"), "{e}");
    }

    #[test]
    fn overrides_patch_the_parent_style() {
        let dark = Theme::builtin("dark").unwrap();
        // A table changes only what it names.
        let t = theme("selection = { bold = true }\n");
        assert_eq!(t.selection, dark.selection.add_modifier(Modifier::BOLD));
        // A bare colour is the background of a fill role, the foreground of the others.
        let t = theme("selection = \"#000080\"\nmuted = \"#000080\"\n");
        assert_eq!(t.selection, dark.selection.bg(Color::Rgb(0, 0, 0x80)));
        assert_eq!(t.muted, dark.muted.fg(Color::Rgb(0, 0, 0x80)));
        // `false` takes a modifier away; "none" unsets a colour; "reset" forces the terminal's.
        let t = theme("header = { bold = false }\nselection = { fg = \"none\", bg = \"reset\" }\n");
        assert!(dark.header.add_modifier.contains(Modifier::BOLD));
        assert_eq!(t.header.add_modifier, Modifier::empty());
        assert_eq!((t.selection.fg, t.selection.bg), (None, Some(Color::Reset)));
        let t = theme(
            "base = { fg = \"white\", bg = \"black\", italic = true, dim = true, \
                       underlined = true, reversed = true }\n",
        );
        assert_eq!(
            t.base,
            Style::new()
                .fg(Color::White)
                .bg(Color::Black)
                .add_modifier(Modifier::ITALIC | Modifier::DIM | Modifier::UNDERLINED | Modifier::REVERSED)
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_file_and_key() {
        let e = err("muted = \"gray\"\nacent = \"red\"\n", "themes/x.toml");
        assert!(e.starts_with("themes/x.toml: unknown theme key \"acent\""), "{e}");
        assert!(
            e.contains("did you mean \"accent\"?") && e.contains("line 2"),
            "{e}"
        );

        let e = err("wibble = 1\n", "themes/x.toml");
        assert!(
            e.contains("unknown theme key \"wibble\" (expected one of: extends, base,"),
            "{e}"
        );

        let e = err("selection = { bg = \"blue\", blod = true }\n", "themes/x.toml");
        assert!(
            e.starts_with("themes/x.toml: selection: unknown style key \"blod\" (did you mean \"bold\"?)"),
            "{e}"
        );

        // Sections are not a thing either.
        let e = err("[colors]\naccent = \"red\"\n", "t.toml");
        assert!(e.contains("unknown theme key \"colors\""), "{e}");
    }

    #[test]
    fn bad_values_are_rejected_with_file_and_key() {
        let e = err("\n\naccent = \"blurple\"\n", "themes/x.toml");
        assert!(
            e.starts_with("themes/x.toml: accent: unknown colour \"blurple\""),
            "{e}"
        );
        assert!(e.contains("line 3"), "{e}");

        let e = err("accent = 300\n", "t.toml");
        assert!(
            e.starts_with("t.toml: accent: palette index 300 is not in 0-255"),
            "{e}"
        );
        let e = err("accent = -1\n", "t.toml");
        assert!(e.contains("accent: palette index -1"), "{e}");
        let e = err("selection = { fg = \"#12345\" }\n", "t.toml");
        assert!(
            e.starts_with("t.toml: selection: fg: unknown colour \"#12345\""),
            "{e}"
        );
        let e = err("selection = { bold = \"yes\" }\n", "t.toml");
        assert!(
            e.starts_with("t.toml: selection: bold: ") && e.contains("expected a boolean"),
            "{e}"
        );
        let e = err("selection = { fg = true }\n", "t.toml");
        assert!(e.starts_with("t.toml: selection: fg: invalid type"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        let e = err("accent = true\n", "t.toml");
        assert!(e.starts_with("t.toml: accent: invalid type"), "{e}");
        let e = err("chart_series = [\"red\", \"nope\"]\n", "t.toml");
        assert!(
            e.starts_with("t.toml: chart_series: entry 2: unknown colour \"nope\""),
            "{e}"
        );
        let e = err("chart_series = []\n", "t.toml");
        assert!(
            e.starts_with("t.toml: chart_series: needs at least one colour"),
            "{e}"
        );
        let e = err("chart_series = \"red\"\n", "t.toml");
        assert!(e.starts_with("t.toml: chart_series: invalid type"), "{e}");
        let e = err("extends = 3\n", "t.toml");
        assert!(e.starts_with("t.toml: extends: invalid type"), "{e}");
        let e = err("accent = \"red\n", "t.toml");
        assert!(e.starts_with("t.toml: ") && e.contains("line 1"), "{e}");
        let e = err("accent = \"red\"\naccent = \"blue\"\n", "t.toml");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn colour_syntaxes() {
        let ok = |s: &str| parse_colour(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok("red"), Color::Red);
        assert_eq!(ok("LightRed"), Color::LightRed);
        assert_eq!(ok("light-red"), Color::LightRed);
        assert_eq!(ok("bright_blue"), Color::LightBlue);
        assert_eq!(ok("darkgrey"), Color::DarkGray);
        assert_eq!(ok("bright black"), Color::DarkGray);
        assert_eq!(ok("gray"), Color::Gray);
        assert_eq!(ok("white"), Color::White);
        assert_eq!(ok("reset"), Color::Reset);
        assert_eq!(ok("default"), Color::Reset);
        assert_eq!(ok("#ffAA00"), Color::Rgb(255, 0xaa, 0));
        assert_eq!(ok(" #000000 "), Color::Rgb(0, 0, 0));
        assert_eq!(ok("indexed:39"), Color::Indexed(39));
        assert_eq!(ok("Indexed: 7"), Color::Indexed(7));
        assert_eq!(ok("255"), Color::Indexed(255));
        for bad in [
            "",
            "blurple",
            "#fff",
            "#gggggg",
            "#1234567",
            "indexed:256",
            "indexed:x",
            "256",
            "rgb(1,2,3)",
        ] {
            let e = parse_colour(bad).expect_err(bad);
            assert!(
                e.contains(&format!("\"{bad}\"")) || e.contains("256"),
                "{bad}: {e}"
            );
        }
        assert_eq!(parse_colour_or_none("None"), Ok(None));
        // Integers in TOML are palette indexes, for a bare role and inside a table.
        let t = theme("accent = 39\nselection = { fg = 16, bg = \"indexed:153\" }\n");
        assert_eq!(t.accent.fg, Some(Color::Indexed(39)));
        assert_eq!(
            (t.selection.fg, t.selection.bg),
            (Some(Color::Indexed(16)), Some(Color::Indexed(153)))
        );
    }

    /// The nearest of 16..=255 by brute force: the reference `rgb_to_ansi256` must agree with.
    fn brute_force_256(r: u8, g: u8, b: u8) -> i32 {
        (16..=255u8)
            .map(|i| {
                let (r2, g2, b2) = ansi256_to_rgb(i);
                let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
                d(r, r2) + d(g, g2) + d(b, b2)
            })
            .min()
            .unwrap()
    }

    #[test]
    fn nearest_256_colour() {
        assert_eq!(rgb_to_ansi256(255, 0, 0), 196);
        assert_eq!(rgb_to_ansi256(0x80, 0x80, 0x80), 244); // grey ramp 8 + 10 * 12 = 128 exactly
        assert_eq!(rgb_to_ansi256(0, 0, 0), 16);
        assert_eq!(rgb_to_ansi256(255, 255, 255), 231);
        assert_eq!(rgb_to_ansi256(0x5f, 0x87, 0xaf), 67);
        assert_eq!(rgb_to_ansi256(0xee, 0xee, 0xee), 255);
        assert_eq!(rgb_to_ansi256(8, 8, 8), 232);
        assert_eq!(rgb_to_ansi256(100, 100, 100), 241); // ramp 98 beats cube 95
        assert_eq!(rgb_to_ansi256(0x26, 0x4f, 0x78), 24); // #005f87
        assert_eq!(rgb_to_ansi256(0xff, 0xaf, 0x00), 214);
        // Every cube and ramp colour maps to itself.
        for i in 16..=255u8 {
            let (r, g, b) = ansi256_to_rgb(i);
            assert_eq!(ansi256_to_rgb(rgb_to_ansi256(r, g, b)), (r, g, b), "index {i}");
        }
        // And the result is the nearest over a grid of the RGB cube.
        for r in (0..=255u8).step_by(15) {
            for g in (0..=255u8).step_by(15) {
                for b in (0..=255u8).step_by(15) {
                    let (r2, g2, b2) = ansi256_to_rgb(rgb_to_ansi256(r, g, b));
                    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
                    let got = d(r, r2) + d(g, g2) + d(b, b2);
                    assert_eq!(got, brute_force_256(r, g, b), "#{r:02x}{g:02x}{b:02x}");
                }
            }
        }
    }

    #[test]
    fn nearest_ansi16_colour() {
        let cases = [
            ((255, 0, 0), Color::LightRed),
            ((205, 0, 0), Color::Red),
            ((0xd7, 0, 0), Color::Red),
            ((0xff, 0x5f, 0x5f), Color::LightRed),
            ((0, 255, 0), Color::LightGreen),
            ((0, 0x87, 0), Color::Green),
            ((0xff, 0xaf, 0), Color::LightYellow),
            ((0xaf, 0x5f, 0), Color::Yellow),
            ((0x61, 0xaf, 0xef), Color::LightBlue),
            ((0x26, 0x4f, 0x78), Color::Blue),
            ((0, 0x87, 0x87), Color::Cyan),
            ((0x87, 0, 0xd7), Color::Magenta),
            ((0, 0, 0), Color::Black),
            ((0x30, 0x30, 0x30), Color::Black),
            ((0x00, 0x2b, 0x36), Color::Black), // a near-black tint is black, not cyan
            ((0x80, 0x80, 0x80), Color::DarkGray),
            ((0xd0, 0xd0, 0xd0), Color::Gray),
            ((255, 255, 255), Color::White),
        ];
        for ((r, g, b), want) in cases {
            assert_eq!(rgb_to_ansi16(r, g, b), want, "#{r:02x}{g:02x}{b:02x}");
        }
        // xterm's own values for the 16 colours come back as themselves.
        for (i, (r, g, b)) in XTERM16.into_iter().enumerate() {
            assert_eq!(rgb_to_ansi16(r, g, b), ANSI16[i], "ANSI colour {i}");
        }
        let d = ColorDepth::Ansi16;
        assert_eq!(d.adapt(Color::Indexed(1)), Color::Red);
        assert_eq!(d.adapt(Color::Indexed(196)), Color::LightRed);
        assert_eq!(d.adapt(Color::Indexed(244)), Color::DarkGray);
        assert_eq!(d.adapt(Color::Magenta), Color::Magenta);
        assert_eq!(d.adapt(Color::Reset), Color::Reset);
        assert_eq!(
            ColorDepth::Ansi256.adapt(Color::Rgb(255, 0, 0)),
            Color::Indexed(196)
        );
        assert_eq!(ColorDepth::Ansi256.adapt(Color::Indexed(3)), Color::Indexed(3));
        assert_eq!(
            ColorDepth::TrueColor.adapt(Color::Rgb(1, 2, 3)),
            Color::Rgb(1, 2, 3)
        );
        assert_eq!(ColorDepth::None.adapt(Color::Red), Color::Reset);
    }

    #[test]
    fn depth_from_env() {
        use ColorDepth as D;
        let f = D::from_env;
        assert_eq!(f(Some("1"), Some("truecolor"), Some("xterm-256color")), D::None);
        assert_eq!(f(Some("0"), None, None), D::None, "any non-empty value counts");
        assert_eq!(
            f(Some(""), Some("truecolor"), None),
            D::TrueColor,
            "empty NO_COLOR is ignored"
        );
        assert_eq!(f(None, Some("truecolor"), Some("xterm")), D::TrueColor);
        assert_eq!(f(None, Some("24bit"), None), D::TrueColor);
        assert_eq!(f(None, Some("TrueColor"), None), D::TrueColor);
        assert_eq!(f(None, None, Some("xterm-direct")), D::TrueColor);
        assert_eq!(f(None, None, Some("xterm-256color")), D::Ansi256);
        assert_eq!(f(None, Some("yes"), Some("screen-256color")), D::Ansi256);
        assert_eq!(f(None, None, Some("dumb")), D::None);
        assert_eq!(f(None, None, Some("xterm")), D::Ansi16);
        assert_eq!(f(None, None, Some("linux")), D::Ansi16);
        assert_eq!(f(None, None, None), D::Ansi16);
        assert_eq!("256".parse::<D>(), Ok(D::Ansi256));
        assert_eq!("TrueColor".parse::<D>(), Ok(D::TrueColor));
        assert_eq!("16".parse::<D>(), Ok(D::Ansi16));
        assert_eq!("none".parse::<D>(), Ok(D::None));
        assert!("lots".parse::<D>().is_err());
    }

    #[test]
    fn reduced_themes_use_only_colours_of_their_depth() {
        for name in builtin_names() {
            let full = Theme::builtin(name).unwrap();
            assert_eq!(full.clone().for_depth(ColorDepth::TrueColor), full);
            for depth in [ColorDepth::Ansi256, ColorDepth::Ansi16, ColorDepth::None] {
                let mut t = full.clone().for_depth(depth);
                for (role, style) in all_styles(&mut t) {
                    for c in [style.fg, style.bg].into_iter().flatten() {
                        let fits = match depth {
                            ColorDepth::Ansi256 => !matches!(c, Color::Rgb(..)),
                            ColorDepth::Ansi16 => !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                            _ => c == Color::Reset,
                        };
                        assert!(fits, "{name} {depth:?} {role}: {c:?}");
                    }
                }
            }
            // No colour: modifiers carry the roles.
            let mono = full.clone().for_depth(ColorDepth::None);
            assert!(mono.error.add_modifier.contains(Modifier::BOLD), "{name}");
            assert!(mono.selection.add_modifier.contains(Modifier::REVERSED), "{name}");
            assert!(mono.muted.add_modifier.contains(Modifier::DIM), "{name}");
            assert!(
                mono.verdict_fail
                    .add_modifier
                    .contains(Modifier::BOLD | Modifier::UNDERLINED)
            );
        }
    }

    /// A colour as it lands on screen: the terminal's default foreground or background, or a
    /// colour.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Ink {
        TermFg,
        TermBg,
        Colour(Color),
    }

    /// The foreground and background a style shows when drawn over `base`.
    fn inks(style: Style, base: Style) -> (Ink, Ink) {
        let ink = |c: Option<Color>, default: Ink| match c {
            None | Some(Color::Reset) => default,
            Some(c) => Ink::Colour(c),
        };
        let base_fg = ink(base.fg, Ink::TermFg);
        let base_bg = ink(base.bg, Ink::TermBg);
        let fg = match style.fg {
            None => base_fg,
            c => ink(c, Ink::TermFg),
        };
        let bg = match style.bg {
            None => base_bg,
            c => ink(c, Ink::TermBg),
        };
        let reversed =
            style.add_modifier.contains(Modifier::REVERSED) != base.add_modifier.contains(Modifier::REVERSED);
        if reversed { (bg, fg) } else { (fg, bg) }
    }

    /// The terminal background each built-in is designed for, at a depth.
    fn terminal_bg(name: &str, depth: ColorDepth) -> Ink {
        let rgb = if name == "light" {
            (255, 255, 255)
        } else {
            (0, 0, 0)
        };
        match depth {
            ColorDepth::None => Ink::TermBg,
            d => Ink::Colour(d.adapt(Color::Rgb(rgb.0, rgb.1, rgb.2))),
        }
    }

    #[test]
    fn roles_stay_distinct_at_every_depth() {
        for name in builtin_names() {
            for depth in DEPTHS {
                let t = Theme::builtin(name).unwrap().for_depth(depth);
                let at = format!("{name} at {depth:?}");
                let pairs = [
                    ("error", t.error, "ok", t.ok),
                    ("error", t.error, "warn", t.warn),
                    ("warn", t.warn, "ok", t.ok),
                    ("verdict_pass", t.verdict_pass, "verdict_fail", t.verdict_fail),
                    ("muted", t.muted, "base", t.base),
                    ("border", t.border, "border_focused", t.border_focused),
                    ("chart_traces", t.chart_traces, "chart_errors", t.chart_errors),
                    ("badge_live", t.badge_live, "badge_paused", t.badge_paused),
                    ("badge_live", t.badge_live, "badge_replay", t.badge_replay),
                    ("badge_paused", t.badge_paused, "badge_replay", t.badge_replay),
                ];
                for (a, sa, b, sb) in pairs {
                    assert_ne!(sa, sb, "{at}: {a} and {b} look the same");
                }
                // Selection: a background of its own, unlike the screen's, and readable text.
                let (sel_fg, sel_bg) = inks(t.selection, t.base);
                let (_, base_bg) = inks(t.base, t.base);
                assert_ne!(sel_bg, base_bg, "{at}: selection background is the screen's");
                assert_ne!(
                    sel_bg,
                    terminal_bg(name, depth),
                    "{at}: selection background is the terminal's"
                );
                assert_ne!(sel_fg, sel_bg, "{at}: selection text is invisible");
                // Every filled role shows its text.
                for (role, style) in [
                    ("status_bar", t.status_bar),
                    ("badge_live", t.badge_live),
                    ("badge_paused", t.badge_paused),
                    ("badge_replay", t.badge_replay),
                    ("alert", t.alert),
                ] {
                    let (fg, bg) = inks(style, t.base);
                    assert_ne!(fg, bg, "{at}: {role} text is invisible");
                }
                // Text roles differ from the background they are drawn on.
                let (_, bg) = inks(t.base, t.base);
                let screen = if bg == Ink::TermBg {
                    terminal_bg(name, depth)
                } else {
                    bg
                };
                for (role, style) in [
                    ("base", t.base),
                    ("muted", t.muted),
                    ("accent", t.accent),
                    ("error", t.error),
                    ("warn", t.warn),
                    ("ok", t.ok),
                    ("header", t.header),
                ] {
                    let (fg, _) = inks(style, t.base);
                    if depth != ColorDepth::None {
                        assert_ne!(fg, screen, "{at}: {role} text is the colour of the background");
                    }
                }
                // Split series are told apart by colour wherever there is colour.
                if depth != ColorDepth::None {
                    for i in 0..t.chart_series.len() {
                        for j in i + 1..t.chart_series.len() {
                            assert_ne!(t.chart_series[i], t.chart_series[j], "{at}: series {i} and {j}");
                        }
                    }
                }
            }
        }
    }

    /// WCAG 2 contrast ratio between two RGB colours.
    fn contrast(a: Color, b: Color) -> f64 {
        let lum = |c: Color| {
            let Color::Rgb(r, g, b) = c else {
                panic!("{c:?} is not RGB")
            };
            let lin = |v: u8| {
                let v = f64::from(v) / 255.0;
                if v <= 0.03928 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        let (la, lb) = (lum(a), lum(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn builtin_text_is_readable_on_its_background() {
        for name in builtin_names() {
            let t = Theme::builtin(name).unwrap();
            let screen = match inks(t.base, t.base).1 {
                Ink::Colour(c) => c,
                _ if *name == "light" => Color::Rgb(255, 255, 255),
                _ => Color::Rgb(0, 0, 0),
            };
            let min_text = if *name == "high-contrast" { 5.5 } else { 4.5 };
            for (role, style) in [
                ("base", t.base),
                ("muted", t.muted),
                ("accent", t.accent),
                ("header", t.header),
                ("error", t.error),
                ("warn", t.warn),
                ("ok", t.ok),
                ("verdict_pass", t.verdict_pass),
                ("verdict_fail", t.verdict_fail),
            ] {
                let Ink::Colour(fg) = inks(style, t.base).0 else {
                    panic!("{name} {role}")
                };
                let c = contrast(fg, screen);
                assert!(c >= min_text, "{name} {role}: contrast {c:.1}");
            }
            let graphics = t
                .chart_series
                .iter()
                .chain([&t.chart_traces, &t.chart_errors, &t.sparkline]);
            for (i, style) in graphics.enumerate() {
                let c = contrast(style.fg.unwrap(), screen);
                assert!(c >= 3.0, "{name} chart colour {i}: contrast {c:.1}");
            }
            for (role, style) in [
                ("selection", t.selection),
                ("status_bar", t.status_bar),
                ("badge_live", t.badge_live),
                ("badge_paused", t.badge_paused),
                ("badge_replay", t.badge_replay),
                ("alert", t.alert),
            ] {
                let (Ink::Colour(fg), Ink::Colour(bg)) = inks(style, t.base) else {
                    continue;
                };
                let c = contrast(fg, bg);
                assert!(c >= 4.5, "{name} {role}: contrast {c:.1}");
            }
        }
    }

    #[test]
    fn light_theme_has_no_yellow_or_pale_text() {
        let t = Theme::builtin("light").unwrap().for_depth(ColorDepth::Ansi16);
        let mut t = t;
        for (role, style) in all_styles(&mut t) {
            if FILL_ROLES.contains(&role) {
                continue;
            }
            let fg = style.fg.unwrap_or(Color::Reset);
            assert!(
                !matches!(
                    fg,
                    Color::LightYellow | Color::White | Color::LightCyan | Color::LightGreen
                ),
                "light {role}: {fg:?} on a light background"
            );
        }
    }

    #[test]
    fn series_cycles_and_border_follows_focus() {
        let t = Theme::builtin("dark").unwrap();
        let n = t.chart_series.len();
        assert_eq!(t.series(0), t.chart_series[0]);
        assert_eq!(t.series(n + 1), t.chart_series[1]);
        assert_eq!(
            Theme {
                chart_series: vec![],
                ..t.clone()
            }
            .series(3),
            t.base
        );
        assert_eq!(t.border_for(true), t.border_focused);
        assert_eq!(t.border_for(false), t.border);
    }

    #[test]
    fn edit_distance_suggests_near_keys() {
        assert_eq!(edit_distance("acent", "accent"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert!(unknown_key("sparklines", KEYS, "theme key").contains("did you mean \"sparkline\"?"));
        assert!(unknown_key("colour", KEYS, "theme key").contains("expected one of"));
    }
}
