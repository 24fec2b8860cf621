//! Themes as users get them: every bundled theme resolved at every colour depth and a set of user
//! themes laid over them, pinned by snapshots (any loader must reproduce them style for style),
//! and the one-line errors that bad theme files give, also pinned.

use llmwatch::ui::theme::{ColorDepth, Theme};

const DEPTHS: [ColorDepth; 4] = [
    ColorDepth::TrueColor,
    ColorDepth::Ansi256,
    ColorDepth::Ansi16,
    ColorDepth::None,
];

/// One line per role: `role: Style { .. }`, the series numbered.
fn lines(t: &Theme) -> String {
    let roles = [
        ("base", t.base),
        ("muted", t.muted),
        ("accent", t.accent),
        ("border", t.border),
        ("border_focused", t.border_focused),
        ("selection", t.selection),
        ("header", t.header),
        ("error", t.error),
        ("warn", t.warn),
        ("ok", t.ok),
        ("verdict_pass", t.verdict_pass),
        ("verdict_fail", t.verdict_fail),
        ("chart_traces", t.chart_traces),
        ("chart_errors", t.chart_errors),
        ("sparkline", t.sparkline),
        ("status_bar", t.status_bar),
        ("badge_live", t.badge_live),
        ("badge_paused", t.badge_paused),
        ("badge_replay", t.badge_replay),
        ("alert", t.alert),
    ];
    let mut out: Vec<String> = roles.iter().map(|(n, s)| format!("{n}: {s:?}")).collect();
    out.extend(
        t.chart_series
            .iter()
            .enumerate()
            .map(|(i, s)| format!("chart_series[{i}]: {s:?}")),
    );
    out.join("\n")
}

#[test]
fn bundled_themes_resolve_to_pinned_styles_at_every_depth() {
    let mut out = String::new();
    for name in Theme::builtin_names() {
        let full = Theme::load(Some(name)).unwrap_or_else(|e| panic!("{e}"));
        for depth in DEPTHS {
            let t = full.clone().for_depth(depth);
            out.push_str(&format!("## {name} at {depth:?}\n{}\n\n", lines(&t)));
        }
    }
    insta::assert_snapshot!("bundled_themes", out);
}

/// User themes exercising every part of the format: parents, bare colours on text and fill
/// roles, tables that patch the parent, modifiers on and off, "none", "reset", every colour
/// spelling, palette indexes as integers and strings, a replaced series.
const USER_THEMES: &[&str] = &[
    "",
    "accent = \"red\"\nselection = \"#000080\"\n",
    "extends = \"light\"\nwarn = \"#875f00\"\nchart_series = [\"red\", 33, { fg = \"blue\", bold = true }]\n",
    "extends = \"high-contrast\"\nerror = \"magenta\"\nselection = { bold = true }\n",
    "header = { bold = false }\nselection = { fg = \"none\", bg = \"reset\" }\n",
    "base = { fg = \"white\", bg = \"black\", italic = true, dim = true, underlined = true, reversed = true }\n",
    "accent = 39\nselection = { fg = 16, bg = \"indexed:153\" }\nmuted = \"Indexed: 7\"\n",
    "ok = \"LightRed\"\nwarn = \"light-red\"\nerror = \"bright_blue\"\nmuted = \"darkgrey\"\n\
     border = \"bright black\"\nheader = \"gray\"\nbase = \"default\"\nalert = \" #ffAA00 \"\n\
     sparkline = \"255\"\nchart_traces = \"None\"\nchart_errors = \"white\"\n",
];

#[test]
fn user_themes_resolve_to_pinned_styles() {
    let mut out = String::new();
    for text in USER_THEMES {
        let t = Theme::from_toml(text, "user.toml").unwrap_or_else(|e| panic!("{text}: {e}"));
        out.push_str(&format!("## {text:?}\n{}\n\n", lines(&t)));
    }
    insta::assert_snapshot!("user_themes", out);
}

/// Bad theme files, each with the one-line error it gives.
const BAD_THEMES: &[&str] = &[
    "acent = \"red\"\n",
    "muted = \"gray\"\nsparklines = \"red\"\n",
    "wibble = 1\n",
    "[colors]\naccent = \"red\"\n",
    "selection = { bg = \"blue\", blod = true }\n",
    "selection = { colour = \"blue\" }\n",
    "\n\naccent = \"blurple\"\n",
    "accent = \"ligthred\"\n",
    "accent = \"#12345\"\n",
    "accent = \"#gggggg\"\n",
    "accent = \"rgb(1,2,3)\"\n",
    "accent = \"indexed:256\"\n",
    "accent = 300\n",
    "accent = -1\n",
    "accent = true\n",
    "accent = 1.5\n",
    "selection = { fg = \"#12345\" }\n",
    "selection = { fg = true }\n",
    "selection = { bold = \"yes\" }\n",
    "chart_series = [\"red\", \"nope\"]\n",
    "chart_series = []\n",
    "chart_series = \"red\"\n",
    "extends = 3\n",
    "extends = \"solarized\"\n",
    "extends = \"lihgt\"\n",
    "accent = \"red\n",
    "accent = \"red\"\naccent = \"blue\"\n",
];

#[test]
fn bad_themes_give_one_line_errors_naming_file_and_key() {
    let mut out = String::new();
    for text in BAD_THEMES {
        let e = Theme::from_toml(text, "themes/bad.toml")
            .expect_err(text)
            .to_string();
        assert!(e.starts_with("themes/bad.toml: "), "{text:?}: {e}");
        assert!(!e.contains('\n'), "{text:?}: not one line: {e}");
        out.push_str(&format!("{text:?}\n  {e}\n"));
    }
    insta::assert_snapshot!("bad_themes", out);
}

/// The binary stops on a bad theme before anything else, with the one line and exit code 2.
#[test]
fn the_binary_stops_on_a_bad_theme_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, "muted = \"gray\"\naccent = \"ligthred\"\n").unwrap();
    let path = path.to_str().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/otel_genai.jsonl");
    for (theme, want) in [
        (
            path,
            format!(
                "llmwatch: {path}: accent: unknown colour \"ligthred\" (did you mean \"lightred\"?) (line 2)\n"
            ),
        ),
        (
            "hgih-contrast",
            "llmwatch: unknown theme \"hgih-contrast\" (did you mean \"high-contrast\"?): the built-in \
             themes are dark, light, high-contrast; a theme file is given by its path (containing '/' \
             or ending in .toml)\n"
                .to_owned(),
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch"))
            .args(["replay", fixture, "--headless", "--theme", theme])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{theme}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{theme}");
    }
}
