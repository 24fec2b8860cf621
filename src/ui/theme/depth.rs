//! Colour depth: how many colours the terminal shows ([`ColorDepth`], read from `NO_COLOR`,
//! `COLORTERM` and `TERM`), and colours reduced to it: RGB to the nearest xterm-256 colour or to
//! the ANSI colour it reads as, everything to the terminal's own with no colour at all.

use ratatui::style::{Color, Modifier, Style};
use std::str::FromStr;

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
pub(super) const ANSI16: [Color; 16] = [
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

/// A colour's RGB value in xterm's default palette (named and indexed colours; RGB as given), or
/// `None` for [`Color::Reset`], whose value is the terminal's.
pub fn xterm_rgb(colour: Color) -> Option<(u8, u8, u8)> {
    match colour {
        Color::Reset => None,
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) => Some(ansi256_to_rgb(i)),
        named => ANSI16.iter().position(|&c| c == named).map(|i| XTERM16[i]),
    }
}

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

pub(super) fn map_colours(mut style: Style, depth: ColorDepth) -> Style {
    style.fg = style.fg.map(|c| depth.adapt(c));
    style.bg = style.bg.map(|c| depth.adapt(c));
    style
}

/// A style without colour: every colour it sets becomes `Reset`, and its modifiers are replaced
/// by `emphasis`, so that a theme's own (high-contrast makes error and ok both bold) cannot make
/// two roles look alike.
pub(super) fn monochrome(style: Style, emphasis: Modifier) -> Style {
    let mut out = Style::new().add_modifier(emphasis);
    out.fg = style.fg.map(|_| Color::Reset);
    out.bg = style.bg.map(|_| Color::Reset);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn xterm_rgb_of_named_indexed_and_rgb_colours() {
        // A named colour and its palette index have the same value.
        for (i, c) in ANSI16.into_iter().enumerate() {
            assert_eq!(xterm_rgb(c), Some(XTERM16[i]), "{c}");
            assert_eq!(xterm_rgb(Color::Indexed(i as u8)), Some(XTERM16[i]), "{c}");
        }
        assert_eq!(xterm_rgb(Color::Indexed(46)), Some((0, 255, 0)));
        assert_eq!(xterm_rgb(Color::Indexed(67)), Some((95, 135, 175)));
        assert_eq!(xterm_rgb(Color::Indexed(244)), Some((128, 128, 128)));
        assert_eq!(xterm_rgb(Color::Rgb(1, 2, 3)), Some((1, 2, 3)));
        assert_eq!(xterm_rgb(Color::Reset), None);
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
}
