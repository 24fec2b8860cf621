//! `llmwatch check FILE... --rules RULES.toml`: the captures replayed at full speed with the
//! rules watching; each alert that fired is one line on stdout, and the exit code is the gate
//! (1 when one fired, 2 when the input cannot be trusted).

use super::args::CheckArgs;
use super::setup::{attach_baseline, file_options, load_config, usage_error};
use crate::alert::RuleSet;
use crate::report::ReportOptions;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: CheckArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let mut rules = match RuleSet::load(&args.rules) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = attach_baseline(
        Some(&mut rules),
        &args.baseline,
        &args.common,
        &semconv,
        &costs,
        false,
    ) {
        return usage_error(e);
    }
    let options = ReportOptions {
        max_input_ratio: args.max_input_ratio,
        ..file_options(args.files, &args.common, semconv, costs)
    };
    let outcome = match crate::alert::check::run(&options, rules) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let mut out = std::io::stdout().lock();
    for line in &outcome.lines {
        let _ = writeln!(out, "{}", crate::text::escape_lines(line));
    }
    let _ = out.flush();
    if let Some(path) = &args.summary
        && let Err(e) = std::fs::write(path, format!("{}\n", outcome.summary.to_json()))
    {
        return usage_error(format!("cannot write {}: {e}", path.display()));
    }
    for line in &outcome.new_cohorts {
        crate::eprintln_escaped!("llmwatch check: {line}");
    }
    for w in &outcome.warnings {
        crate::eprintln_escaped!("llmwatch check: warning: {w}");
    }
    let spans = outcome.summary.spans.accepted;
    if outcome.input.malformed_lines > 0 {
        return usage_error(format!(
            "{} malformed lines in the input (see above); the check is not trustworthy",
            outcome.input.malformed_lines
        ));
    }
    if spans == 0 && outcome.summary.logs.accepted == 0 {
        return usage_error("the input holds no spans or logs");
    }
    crate::eprintln_lossy!(
        "llmwatch check: {} alert{} fired over {spans} spans",
        outcome.lines.len(),
        if outcome.lines.len() == 1 { "" } else { "s" }
    );
    if outcome.fired() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
