//! The README's picture of the dashboard: ten minutes of the demo's traffic (fixed seed and
//! start time, so the same picture every run) drawn by the real `App` at 160x48, written as
//! `DIR/screen.svg` (colours) and `DIR/screen.txt`. Run by `scripts/screenshot.sh`.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::svg;
use llmwatch::ui::theme::{ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;
use std::sync::Arc;

/// 2027-01-15 08:00:00 UTC.
const START: u64 = 1_800_000_000_000_000_000;
/// Seconds of traffic: ten minutes, past the first incidents, and long enough for the 5-minute
/// window to have a window before it (the Δ columns).
const SECONDS: u64 = 600;
const RATE: f64 = 20.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| "docs".into()));
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let pipeline = local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    );
    fill(&pipeline, 42, RATE, START, SECONDS);
    let theme = Theme::load(Some("dark"))?.for_depth(ColorDepth::TrueColor);
    let mut app = App::new(pipeline.clone(), Feed::Demo { rate: RATE }, theme);
    let mut terminal = Terminal::new(TestBackend::new(160, 48))?;
    terminal.draw(|f| app.draw(f))?;
    let buffer = terminal.backend().buffer();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("screen.svg"), svg::to_svg(buffer))?;
    std::fs::write(dir.join("screen.txt"), svg::to_text(buffer))?;
    pipeline.shutdown();
    eprintln!("wrote {0}/screen.svg and {0}/screen.txt", dir.display());
    Ok(())
}
