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
//! Colours are what ratatui's `Color::from_str` reads (ANSI names such as `red`, `lightred`,
//! `darkgray`, `reset`; `"#rrggbb"`; a palette index), an xterm-256 index as a TOML integer or
//! `"indexed:39"`, or `"none"` to unset the parent's colour. Unknown keys and bad colours are
//! one-line errors naming the file, the key, the line and a near miss. The format is read in
//! [`file`], colours reduced to the terminal in [`depth`]; `themes/README.md` documents the
//! format for users.

mod depth;
mod file;

pub use depth::{ColorDepth, rgb_to_ansi16, rgb_to_ansi256, xterm_rgb};

use crate::text::escape;
use depth::{map_colours, monochrome};
use file::ThemeFile;
use ratatui::style::{Modifier, Style};

/// Names of the built-in themes, in the order `--help` and error messages list them.
const BUILTIN_NAMES: &[&str] = &["dark", "light", "high-contrast"];

/// Built-in theme sources, embedded so the binary needs no files at run time.
const BUILTINS: &[(&str, &str)] = &[
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
];

/// The theme a file extends when it does not say, and the one `Theme::load(None)` gives.
const DEFAULT_THEME: &str = "dark";

/// Names of the built-in themes (`dark`, `light`, `high-contrast`).
pub fn builtin_names() -> &'static [&'static str] {
    BUILTIN_NAMES
}

/// Declares [`Theme`] with one `Style` field per single-style role, in the order theme files
/// list them, then `chart_series`; [`ROLES`] names the roles as theme files do, and
/// `Theme::blank`/`Theme::roles_mut` go through every one, so a role is named in one place.
macro_rules! theme_with_roles {
    ($($(#[doc = $doc:literal])+ $role:ident,)+) => {
        /// The colours of the dashboard, one style per role. Roles marked *fill* colour an area: a
        /// bare colour given for them in a theme file sets the background; for the others it sets
        /// the foreground. A style's `None` colours let whatever is underneath show through.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Theme {
            $($(#[doc = $doc])+ pub $role: Style,)+
            /// Colours for split chart series (one per model, route, ...); [`Theme::series`]
            /// cycles them.
            pub chart_series: Vec<Style>,
        }

        /// The single-style roles as theme files name them, in [`Theme`] field order.
        const ROLES: &[&str] = &[$(stringify!($role)),+];

        impl Theme {
            /// A theme with every role empty: what the built-ins are laid over.
            fn blank() -> Theme {
                Theme { $($role: Style::new(),)+ chart_series: vec![Style::new()] }
            }

            /// Every single-style role with its name, in [`ROLES`] order.
            fn roles_mut(&mut self) -> [(&'static str, &mut Style); ROLES.len()] {
                [$((stringify!($role), &mut self.$role)),+]
            }
        }
    };
}

theme_with_roles! {
    /// Default text and screen background; a `Reset` background lets the terminal's own show.
    base,
    /// Secondary text: timestamps, units, axis labels, key hints, empty-state text.
    muted,
    /// Pane titles, the selection marker and other highlights.
    accent,
    /// Borders of panes without focus.
    border,
    /// The border of the focused pane.
    border_focused,
    /// The selected row of a table or list (fill).
    selection,
    /// Table column headers.
    header,
    /// Errors: failed calls, error counts and messages.
    error,
    /// Warnings: slow calls, dropped data, costs near a budget.
    warn,
    /// Healthy state: successful calls, receivers up.
    ok,
    /// An evaluation verdict that passed.
    verdict_pass,
    /// An evaluation verdict that failed.
    verdict_fail,
    /// The traces (requests) series of the throughput chart.
    chart_traces,
    /// The errors series of the throughput chart.
    chart_errors,
    /// Sparklines.
    sparkline,
    /// The status bar along the bottom (fill).
    status_bar,
    /// The state badge while showing live traffic (fill).
    badge_live,
    /// The state badge while the display is paused (fill).
    badge_paused,
    /// The state badge while replaying a recording (fill).
    badge_replay,
    /// The alert banner (fill).
    alert,
}

/// Roles that colour an area: a bare colour sets their background.
const FILL_ROLES: &[&str] = &[
    "selection",
    "status_bar",
    "badge_live",
    "badge_paused",
    "badge_replay",
    "alert",
];

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
        let src = builtin_source(name).ok_or_else(|| ThemeError::Unknown {
            name: name.to_owned(),
        })?;
        // Built-ins set every role and extend nothing (tested), so nothing of another theme
        // shows through a role they set partly (high-contrast's selection is reversed, with no
        // colours of dark's).
        Ok(apply(
            Theme::blank(),
            &parse_file(src, &format!("built-in theme {name}"))?,
        ))
    }

    /// A theme from TOML text; `origin` (usually the path) prefixes error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let file = parse_file(text, origin)?;
        let parent = file.extends.as_deref().unwrap_or(DEFAULT_THEME);
        let parent =
            file::known(parent, BUILTIN_NAMES, "built-in theme").map_err(|e| ThemeError::Invalid {
                origin: origin.to_owned(),
                message: format!("extends: {e}"),
            })?;
        Ok(apply(Theme::builtin(parent)?, &file))
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
        let reduce = |style: &mut Style, emphasis: Modifier| {
            *style = match depth {
                ColorDepth::None => monochrome(*style, emphasis),
                _ => map_colours(*style, depth),
            }
        };
        for (role, style) in self.roles_mut() {
            reduce(style, monochrome_emphasis(role));
        }
        for style in &mut self.chart_series {
            reduce(style, Modifier::empty());
        }
        self
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
        "unknown theme \"{}\"{}: the built-in themes are {}; a theme file is given by its path \
         (containing '/' or ending in .toml)",
        escape(name),
        file::nearest(name, BUILTIN_NAMES).map(|n| format!(" (did you mean \"{n}\"?)")).unwrap_or_default(),
        BUILTIN_NAMES.join(", ")
    )]
    Unknown { name: String },
    #[error("cannot read theme {}: {source}", escape(path))]
    Read { path: String, source: std::io::Error },
    #[error("{}: {message}", escape(origin))]
    Invalid { origin: String, message: String },
}

fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

fn parse_file(text: &str, origin: &str) -> Result<ThemeFile, ThemeError> {
    file::parse(text, ROLES).map_err(|message| ThemeError::Invalid {
        origin: origin.to_owned(),
        message,
    })
}

/// `theme` with the roles `file` sets laid over it; `chart_series` replaces the palette.
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
    use ratatui::style::Color;

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
            let file = file::parse(builtin_source(name).unwrap(), ROLES).unwrap();
            assert_eq!(
                file.extends, None,
                "{name}: built-ins are complete, not extensions"
            );
            assert!(
                file.chart_series.is_some(),
                "built-in theme {name} sets no chart_series"
            );
            for role in ROLES {
                let set = file.roles.iter().any(|(k, _)| k == role);
                assert!(set, "built-in theme {name} does not set {role}");
            }
        }
        for fill in FILL_ROLES {
            assert!(ROLES.contains(fill), "{fill}");
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

        let e = Theme::load(Some("hgih-contrast")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(r#"unknown theme "hgih-contrast" (did you mean "high-contrast"?): "#),
            "{e}"
        );
        let e = Theme::load(Some("sol\u{1b}[2J\narized")).unwrap_err();
        assert!(
            e.to_string().contains(r#""sol\u{1b}[2J\narized""#),
            "escaped, one line: {e}"
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
}
