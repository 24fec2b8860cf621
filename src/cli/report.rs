//! `llmwatch report FILE...`: captures through the pipeline at full speed, then the JSON
//! summary (or, with `--spans`, one JSON line per normalised span) on stdout.

use super::args::ReportArgs;
use super::setup::{file_options, load_config, usage_error};
use crate::report::{ReportError, ReportOptions};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: ReportArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let options = ReportOptions {
        spans: args.spans,
        max_input_ratio: args.max_input_ratio,
        ..file_options(args.files, &args.common, semconv, costs)
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match crate::report::run_before_exit(&options, &mut out).and_then(|s| {
        out.flush().map_err(ReportError::Write)?;
        Ok(s)
    }) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}
