//! What the commands share around their work: the config file and prices, the theme, the
//! rules and their baseline, the reviews file and the signal flags first; the summary file and
//! the one exit with a reason (code 2) last.

use super::options::{CommonArgs, OutputArgs};
use crate::alert::RuleSet;
use crate::alert::baseline::Baseline;
use crate::config_file::FileConfig;
use crate::cost::CostTable;
use crate::ingest::handoff::Pipeline;
use crate::replay::Speed;
use crate::report::ReportOptions;
use crate::review::file::ReviewsFile;
use crate::semconv::SemconvConfig;
use crate::signals::Interrupts;
use crate::summary::Summary;
use crate::ui::baseline::BaselineRows;
use crate::ui::theme::{ColorDepth, Theme};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The semantic settings and prices from `--config` (or `LLMWATCH_CONFIG`), else the default
/// config file when it exists, or the defaults.
pub fn load_config(path: Option<&PathBuf>) -> Result<(Arc<SemconvConfig>, Arc<CostTable>), String> {
    let default = || FileConfig::default_path().filter(|p| p.exists());
    let file = match path.cloned().or_else(default).as_ref() {
        Some(p) => FileConfig::load(p).map_err(|e| e.to_string())?,
        None => FileConfig::default(),
    };
    Ok((Arc::new(file.semconv()), Arc::new(file.costs())))
}

/// Semantic settings, prices, the theme when a screen is shown, the alert rules, and the
/// screen's baseline rows (`--baseline` with the screen).
pub type Loaded = (
    Arc<SemconvConfig>,
    Arc<CostTable>,
    Option<Theme>,
    Option<RuleSet>,
    Option<BaselineRows>,
);

/// What every running mode checks and loads first: the status interval, the config file, the
/// log file and, for the screen, the theme. `None` for the theme means headless: asked for, or
/// stdout is not a terminal.
pub fn setup(common: &CommonArgs, output: &OutputArgs, headless: bool) -> Result<Loaded, String> {
    if !(output.status_interval.is_finite() && output.status_interval > 0.0) {
        return Err("--status-interval must be a positive number of seconds".into());
    }
    let (semconv, costs) = load_config(common.config.as_ref())?;
    let mut rules = output.load_rules()?;
    let screen = !headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    attach_baseline(rules.as_mut(), &output.baseline, common, &semconv, &costs, screen)?;
    // The screen compares its panes against the baseline: read once more into its own index.
    let base = if screen && !output.baseline.is_empty() {
        let options = file_options(output.baseline.clone(), common, semconv.clone(), costs.clone());
        let rows = BaselineRows::load(&options).map_err(|e| format!("baseline: {e}"))?;
        Some(rows)
    } else {
        None
    };
    if let Some(path) = &output.log {
        crate::log::to_file(path).map_err(|e| format!("cannot open the log {}: {e}", path.display()))?;
    }
    let theme = Theme::load(output.theme.as_deref())
        .map_err(|e| e.to_string())?
        .for_depth(ColorDepth::detect());
    if !headless && !screen {
        crate::eprintln_lossy!(
            "llmwatch: not a terminal; running headless (pass --headless to silence this)"
        );
    }
    Ok((semconv, costs, screen.then_some(theme), rules, base))
}

/// Reads `--baseline` for the rules that compare against it. A rule with `compare` and no
/// `--baseline` is refused; a baseline no rule compares against is not read (said once).
pub fn attach_baseline(
    rules: Option<&mut RuleSet>,
    files: &[PathBuf],
    common: &CommonArgs,
    semconv: &Arc<SemconvConfig>,
    costs: &Arc<CostTable>,
    screen: bool,
) -> Result<(), String> {
    let wanted = rules
        .as_ref()
        .and_then(|r| r.baseline_rule())
        .map(|r| r.name.clone());
    match (rules, wanted, files.is_empty()) {
        (_, Some(name), true) => Err(format!(
            "rule {name:?} compares against a baseline (compare = ...); give --baseline FILE"
        )),
        (_, None, false) => {
            // The screen reads it for its panes.
            if !screen {
                crate::eprintln_lossy!(
                    "llmwatch: no rule has compare = \"baseline\"; --baseline is not read"
                );
            }
            Ok(())
        }
        (Some(rules), Some(_), false) => {
            let options = file_options(files.to_vec(), common, semconv.clone(), costs.clone());
            let baseline = Baseline::compute(&options, rules).map_err(|e| format!("baseline: {e}"))?;
            rules.baseline = Some(Arc::new(baseline));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Writes the summary to `--summary FILE` after the screen closed (the screen prints nothing).
pub fn save_summary(summary: &Summary, path: Option<&Path>) -> ExitCode {
    let Some(path) = path else {
        return ExitCode::SUCCESS;
    };
    match std::fs::write(path, format!("{}\n", summary.to_json())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write {}: {e}", path.display())),
    }
}

/// The binary's one exit with a reason; the reason may quote input (a file name, a rule name,
/// a config line), so it is escaped like every printed line.
pub fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    crate::eprintln_escaped!("llmwatch: {message}");
    ExitCode::from(2)
}

/// Reading files through the pipeline at full speed, for `report`, `check` and `replay`.
pub fn file_options(
    files: Vec<PathBuf>,
    common: &CommonArgs,
    semconv: Arc<SemconvConfig>,
    costs: Arc<CostTable>,
) -> ReportOptions {
    let (store, handoff) = common.budgets();
    ReportOptions {
        files: common.source_range(files),
        spans: false,
        speed: Speed::Max,
        status_every: None,
        recorder: None,
        store,
        handoff,
        semconv,
        costs,
        max_input_ratio: crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    }
}

/// The screen's reviews file (`--reviews`, else the default path), with the reviews it holds
/// fed into `pipeline` first so they show again.
pub fn open_reviews(
    path: Option<&PathBuf>,
    pipeline: &Arc<Pipeline>,
    template: &ReportOptions,
) -> Result<Option<ReviewsFile>, String> {
    let Some(path) = path.cloned().or_else(ReviewsFile::default_path) else {
        return Ok(None);
    };
    let file = ReviewsFile::new(path);
    let loaded = file.load_into(pipeline, template).map_err(|e| e.to_string())?;
    if loaded > 0 {
        crate::log!("loaded {loaded} review lines from {}", file.path().display());
    }
    Ok(Some(file))
}

/// The signal flags for a mode whose main thread runs the screen or a generator loop.
pub fn signal_flags(screen: bool) -> Result<Arc<Interrupts>, String> {
    Interrupts::watch(screen).map_err(|e| format!("cannot start the signal thread: {e}"))
}
