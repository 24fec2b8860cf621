//! The drill-down screen: summary header and breadcrumbs, the span tree with its waterfall,
//! and the selected span's detail. Built as an owned [`DrillView`] while the store is locked,
//! drawn after.

use super::common::pane_block;
use crate::store::Trace;
use crate::ui::drill::{Drill, DrillFocus, detail::breadcrumbs, rows};
use crate::ui::keys::{self, Context, Mode};
use crate::ui::text::clean;
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

#[derive(Clone, Copy, Debug, Default)]
pub struct DrillLayout {
    pub header: Rect,
    pub tree: Rect,
    pub detail: Rect,
    pub footer: Rect,
    pub waterfall: u16,
}

/// Splits the area below the status bar: two header lines, tree beside (or above) detail, one
/// footer line.
pub fn layout(area: Rect) -> DrillLayout {
    let wide = area.width >= super::common::WIDE;
    // The summary wraps onto a second line on narrow screens; the breadcrumbs follow it.
    let header_lines = if wide { 2 } else { 3 };
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(header_lines),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let (tree, detail) = if wide {
        let [t, d] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
        (t, d)
    } else {
        let [t, d] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        (t, d)
    };
    DrillLayout {
        header,
        tree,
        detail,
        footer,
        waterfall: if wide { 24 } else { 12 },
    }
}

#[derive(Clone, Debug, Default)]
pub struct DrillView {
    /// The summary's segments, laid out whole by [`rows::pack`].
    pub header: Vec<Vec<ratatui::text::Span<'static>>>,
    pub crumbs: String,
    pub rows: Vec<(Line<'static>, Line<'static>)>,
    /// Index in `rows` of the selection.
    pub cursor: Option<usize>,
    pub total_rows: usize,
    /// 1-based position of the selection among all rows.
    pub position: usize,
    pub detail: Vec<Line<'static>>,
    pub detail_scroll: usize,
    pub detail_total: usize,
    pub focus: DrillFocus,
    pub search: Option<String>,
    pub message: Option<String>,
}

/// The frame's data, read from `trace` (the store is locked while this runs).
pub fn build(
    drill: &mut Drill,
    trace: &Trace,
    baseline: Option<(f64, String)>,
    l: &DrillLayout,
    theme: &Theme,
) -> DrillView {
    drill.refresh(trace);
    let tree_rows = usize::from(l.tree.height.saturating_sub(2));
    let detail_rows = usize::from(l.detail.height.saturating_sub(2));
    drill.tree_height = tree_rows;
    drill.detail_height = detail_rows;
    // Keep the cursor on screen after a resize.
    if drill.cursor >= drill.offset + tree_rows.max(1) {
        drill.offset = drill.cursor + 1 - tree_rows.max(1);
    }
    drill.offset = drill.offset.min(drill.cursor);
    // The row's cell: the tree pane inside its border, less the waterfall and the gap.
    let row_width = usize::from(l.tree.width.saturating_sub(3 + l.waterfall));
    let rows: Vec<(Line<'static>, Line<'static>)> = drill
        .tree
        .rows
        .iter()
        .skip(drill.offset)
        .take(tree_rows)
        .map(|&n| {
            let main = rows::row_line(trace, &drill.tree, n, row_width, theme);
            let bar = drill.tree.nodes[n].span().map_or_else(Line::default, |i| {
                rows::waterfall(trace, &trace.spans[i], usize::from(l.waterfall), theme)
            });
            (main, bar)
        })
        .collect();
    let crumbs = drill.selected_span(trace).map_or_else(String::new, |s| {
        breadcrumbs(trace, s, l.header.width.saturating_sub(2))
    });
    let width = l.detail.width.saturating_sub(2);
    let wanted = drill.detail_scroll;
    let all = drill.detail(trace, width, theme);
    let total = all.len();
    let scroll = wanted.min(total.saturating_sub(detail_rows.max(1)));
    let detail: Vec<Line<'static>> = all.iter().skip(scroll).take(detail_rows).cloned().collect();
    drill.detail_scroll = scroll;
    DrillView {
        header: rows::header(trace, baseline, theme),
        crumbs,
        cursor: drill.cursor.checked_sub(drill.offset),
        total_rows: drill.tree.rows.len(),
        position: drill.cursor + 1,
        rows,
        detail,
        detail_scroll: scroll,
        detail_total: total,
        focus: drill.focus,
        search: drill.search.editing.then(|| drill.search.text.clone()),
        message: drill.message.clone(),
    }
}

pub fn render(frame: &mut Frame, l: &DrillLayout, v: &DrillView, theme: &Theme) {
    let crumbs_at = Rect {
        y: l.header.bottom().saturating_sub(1),
        height: 1,
        ..l.header
    };
    let summary = Rect {
        height: l.header.height.saturating_sub(1),
        ..l.header
    };
    let header = rows::pack(&v.header, usize::from(summary.width), usize::from(summary.height));
    frame.render_widget(Paragraph::new(header), summary);
    frame.render_widget(
        Paragraph::new(Line::styled(format!(" {}", v.crumbs), theme.muted)),
        crumbs_at,
    );

    let tree_focus = v.focus == DrillFocus::Tree;
    let title = if l.tree.width >= 90 {
        format!(
            " Spans {}/{} (Enter fold · x error · v failed eval · $ dearest · s slowest) ",
            v.position, v.total_rows
        )
    } else {
        format!(" Spans {}/{} ", v.position, v.total_rows)
    };
    let rows = v.rows.iter().enumerate().map(|(i, (main, bar))| {
        let row = Row::new(vec![Cell::from(main.clone()), Cell::from(bar.clone())]);
        if Some(i) == v.cursor {
            row.style(theme.selection)
        } else {
            row
        }
    });
    let table = Table::new(rows, [Constraint::Min(10), Constraint::Length(l.waterfall)])
        .column_spacing(1)
        .block(pane_block(title, l.tree, tree_focus, theme));
    frame.render_widget(table, l.tree);

    let detail_title = format!(
        " Detail {}/{} (Tab: scroll here) ",
        (v.detail_scroll + 1).min(v.detail_total),
        v.detail_total
    );
    let detail =
        Paragraph::new(v.detail.clone()).block(pane_block(detail_title, l.detail, !tree_focus, theme));
    frame.render_widget(detail, l.detail);

    let footer = if let Some(text) = &v.search {
        let mut spans = vec![
            Span::styled("/", theme.accent),
            Span::raw(clean(text).into_owned()),
            Span::raw("  "),
        ];
        let used: usize = spans.iter().map(Span::width).sum();
        let width = usize::from(l.footer.width).saturating_sub(used);
        spans.extend(keys::footer_spans(
            Mode::DrillSearch,
            &Context::default(),
            width,
            theme,
        ));
        Line::from(spans)
    } else if let Some(m) = &v.message {
        Line::styled(format!(" {}", clean(m)), theme.accent)
    } else {
        let width = usize::from(l.footer.width);
        Line::from(keys::footer_spans(Mode::Drill, &Context::default(), width, theme))
    };
    frame.render_widget(Paragraph::new(footer).style(theme.status_bar), l.footer);
}
