//! A drawn frame as an SVG picture and as plain text: the README's screenshot
//! (`examples/screenshot.rs`) is a real frame, not a mock-up.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write;

/// Cell size in pixels at the font size below (a monospace advance of 0.6 em).
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;
/// What `Color::Reset` stands for: the dark theme's terminal.
const DEFAULT_FG: &str = "#d0d0d0";
const DEFAULT_BG: &str = "#1c1c1c";

/// The frame as text: one line per row, trailing blanks cut.
pub fn to_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The frame as an SVG document: a background rectangle per run of one background colour, a
/// text element per run of one style, each stretched to its cells so columns line up whatever
/// monospace font the viewer has.
pub fn to_svg(buffer: &Buffer) -> String {
    let area = buffer.area;
    let (w, h) = (f64::from(area.width) * CELL_W, f64::from(area.height) * CELL_H);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.1} {h:.1}\" font-family=\"'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace\" \
         font-size=\"{FONT_SIZE}\">\n<rect width=\"100%\" height=\"100%\" fill=\"{DEFAULT_BG}\"/>\n"
    );
    for y in area.top()..area.bottom() {
        let row = y - area.top();
        let cells: Vec<_> = (area.left()..area.right()).map(|x| &buffer[(x, y)]).collect();
        // Backgrounds.
        let mut x = 0;
        while x < cells.len() {
            let bg = colour(background(cells[x]), DEFAULT_BG);
            let run = cells[x..]
                .iter()
                .take_while(|c| colour(background(c), DEFAULT_BG) == bg)
                .count();
            if bg != DEFAULT_BG {
                let _ = writeln!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{CELL_H}\" fill=\"{bg}\"/>",
                    x as f64 * CELL_W,
                    f64::from(row) * CELL_H,
                    run as f64 * CELL_W
                );
            }
            x += run;
        }
        // Text, in runs of one style; blank runs are skipped.
        let mut x = 0;
        while x < cells.len() {
            let style = text_style(cells[x]);
            let run = cells[x..].iter().take_while(|c| text_style(c) == style).count();
            let text: String = cells[x..x + run].iter().map(|c| c.symbol()).collect();
            if !text.trim().is_empty() {
                let (fill, bold, underline) = &style;
                let _ = writeln!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" textLength=\"{:.1}\" lengthAdjust=\"spacingAndGlyphs\" \
                     fill=\"{fill}\"{}{} xml:space=\"preserve\">{}</text>",
                    x as f64 * CELL_W,
                    (f64::from(row) + 0.78) * CELL_H,
                    run as f64 * CELL_W,
                    if *bold { " font-weight=\"bold\"" } else { "" },
                    if *underline {
                        " text-decoration=\"underline\""
                    } else {
                        ""
                    },
                    xml_escape(&text)
                );
            }
            x += run;
        }
    }
    out.push_str("</svg>\n");
    out
}

/// A cell's background, foreground and background swapped when it is reversed.
fn background(cell: &ratatui::buffer::Cell) -> Color {
    if cell.modifier.contains(Modifier::REVERSED) {
        cell.fg
    } else {
        cell.bg
    }
}

/// (foreground colour, bold, underlined) of a cell's text.
fn text_style(cell: &ratatui::buffer::Cell) -> (String, bool, bool) {
    let (fg, default) = if cell.modifier.contains(Modifier::REVERSED) {
        (cell.bg, DEFAULT_BG)
    } else {
        (cell.fg, DEFAULT_FG)
    };
    (
        colour(fg, default),
        cell.modifier.contains(Modifier::BOLD),
        cell.modifier.contains(Modifier::UNDERLINED),
    )
}

/// A terminal colour as `#rrggbb` (the xterm palette for named and indexed colours).
fn colour(c: Color, default: &str) -> String {
    match super::theme::xterm_rgb(c) {
        Some((r, g, b)) => format!("#{r:02x}{g:02x}{b:02x}"),
        None => default.to_string(),
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // XML 1.0 cannot hold most control characters, even escaped.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn runs_keep_their_colours_and_text_is_escaped() {
        let mut b = Buffer::empty(Rect::new(0, 0, 12, 2));
        b.set_string(0, 0, "a<b & c", Style::default().fg(Color::Rgb(255, 0, 0)));
        b.set_string(
            0,
            1,
            "ok",
            Style::default().fg(Color::Indexed(46)).bg(Color::Blue),
        );
        let svg = to_svg(&b);
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.contains(">a&lt;b &amp; c</text>"), "{svg}");
        assert!(svg.contains("fill=\"#ff0000\""), "{svg}");
        assert!(svg.contains("fill=\"#00ff00\""), "{svg}");
        // The blue background of the two cells, 2 x 8.4 wide.
        assert!(
            svg.contains("width=\"16.8\" height=\"17\" fill=\"#0000ee\""),
            "{svg}"
        );
        assert_eq!(svg.matches("<text").count(), 2);
        assert_eq!(to_text(&b), "a<b & c\nok\n");
    }
}
