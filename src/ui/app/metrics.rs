//! The application's side of the metrics view (`4`): one row per series of the metric store,
//! sorted by name then attributes, filtered by the view's own `/` filter; j/k move.

use super::App;
use crate::store::metrics::{MetricStore, SLOT_SECS, Series, Value};
use crate::ui::panes;
use crate::ui::panes::metrics::{MetricLine, MetricsView, attrs_text};
use crate::ui::text::{clean, fmt_nanos};
use crate::view::query::{Query, Record};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// A number in at most about seven columns: `0.25`, `12.5`, `1,234`, `12.3k`, `4.56M`.
pub fn fmt_number(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        return v.to_string();
    }
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A value in its unit: seconds and milliseconds as durations, anything else as a number.
fn fmt_in_unit(v: f64, unit: &str) -> String {
    match unit {
        "s" if v >= 0.0 => fmt_nanos((v * 1e9) as u64),
        "ms" if v >= 0.0 => fmt_nanos((v * 1e6) as u64),
        _ => fmt_number(v),
    }
}

fn record<'a>(s: &'a Series) -> Record<'a> {
    let get = |k: &str| s.attrs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    Record {
        trace_id: None,
        service: get("service.name").unwrap_or(""),
        model: get("gen_ai.request.model"),
        name: Some(&s.name),
        attrs: &s.attrs,
        ..Record::default()
    }
}

fn line(s: &Series, newest_slot: u64, spark_points: usize) -> MetricLine {
    // A sum's newest slot is still filling: the line ends at the last complete one rather
    // than dip at "now" (means and gauges do not dip).
    let newest_slot = match s.value {
        Value::Sum(_) => newest_slot.saturating_sub(1),
        _ => newest_slot,
    };
    let (value, count) = match &s.value {
        Value::Gauge(v) | Value::Sum(v) => (fmt_in_unit(*v, &s.unit), "-".to_string()),
        Value::Histogram(b) => {
            let q = |p| b.quantile(p).map_or("-".to_string(), |v| fmt_in_unit(v, &s.unit));
            (
                format!("p50 {} p95 {}", q(0.5), q(0.95)),
                fmt_number(b.count as f64),
            )
        }
    };
    MetricLine {
        name: clean(&s.name).into_owned(),
        attrs: attrs_text(&s.attrs),
        value,
        count,
        unit: clean(&s.unit).into_owned(),
        spark: s.spark_values(newest_slot, spark_points),
    }
}

/// The page of series `offset..offset + visible` that pass `query`, sorted by name then
/// attributes.
pub fn page(
    store: &MetricStore,
    query: Option<&Query>,
    offset: usize,
    visible: usize,
    spark_points: usize,
) -> MetricsView {
    let mut matched: Vec<&Series> = store
        .series()
        .iter()
        .filter(|s| query.is_none_or(|q| q.matches_record(&record(s))))
        .collect();
    matched.sort_by(|a, b| (&a.name, &a.attrs).cmp(&(&b.name, &b.attrs)));
    let newest_slot = store.newest_unix_nano() / 1_000_000_000 / SLOT_SECS;
    MetricsView {
        rows: matched
            .iter()
            .skip(offset)
            .take(visible)
            .map(|s| line(s, newest_slot, spark_points))
            .collect(),
        offset,
        cursor: 0,
        matched: matched.len(),
        total: store.series().len(),
        dropped_series: store.dropped_series(),
        filtered: query.is_some_and(|q| !q.is_empty()),
    }
}

impl App {
    pub(super) fn draw_metrics(&mut self, frame: &mut Frame) {
        let (status_area, body, footer) = self.screen_areas(frame);
        let visible = panes::metrics::body_rows(body);
        let query = Query::parse(&self.ui.metrics.filter.applied).ok();
        let spark = panes::metrics::spark_width(body.width);
        let len = {
            let store = self.pipeline.metrics();
            store
                .series()
                .iter()
                .filter(|s| query.as_ref().is_none_or(|q| q.matches_record(&record(s))))
                .count()
        };
        let list = &mut self.ui.metrics;
        list.visible = visible;
        list.cursor = list.cursor.min(len.saturating_sub(1));
        if list.cursor < list.offset {
            list.offset = list.cursor;
        } else if list.cursor >= list.offset + visible {
            list.offset = list.cursor + 1 - visible;
        }
        let mut view = page(
            &self.pipeline.metrics(),
            query.as_ref(),
            list.offset,
            visible,
            spark,
        );
        view.cursor = list.cursor;
        self.ui.view_rows = panes::table_rows(body, 1);
        self.draw_screen_status(frame, status_area);
        panes::metrics::render(frame, body, &view, &self.theme);
        panes::footer::render_with(
            frame,
            footer,
            &self.ui,
            &self.ui.metrics.filter,
            crate::ui::keys::Mode::Metrics,
            self.is_replay(),
            &self.theme,
        );
    }

    pub(super) fn metrics_key(&mut self, k: KeyEvent) -> bool {
        if self.ui.metrics.filter.editing {
            return self.record_filter_key(k, |ui| &mut ui.metrics);
        }
        let list = &mut self.ui.metrics;
        let page = list.visible.max(1);
        let c = list.cursor;
        list.cursor = match k.code {
            KeyCode::Up | KeyCode::Char('k') => c.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => c + 1,
            KeyCode::PageUp => c.saturating_sub(page),
            KeyCode::PageDown => c + page,
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => usize::MAX / 2,
            _ => return self.record_common_key(k, |ui| &mut ui.metrics),
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_short() {
        assert_eq!(fmt_number(0.25), "0.250");
        assert_eq!(fmt_number(12.5), "12.50");
        assert_eq!(fmt_number(1234.0), "1234");
        assert_eq!(fmt_number(12_345.0), "12.3k");
        assert_eq!(fmt_number(4_560_000.0), "4.56M");
        assert_eq!(fmt_in_unit(1.5, "s"), fmt_nanos(1_500_000_000));
    }
}
