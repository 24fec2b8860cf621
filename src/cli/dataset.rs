//! `llmwatch dataset CAPTURE...`: the model calls of the traces a filter keeps, one JSON line
//! each, on stdout or in `--out FILE`.

use super::args::DatasetArgs;
use super::setup::{file_options, load_config, usage_error};
use crate::report::ReportOptions;
use std::process::ExitCode;

pub fn run(args: DatasetArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let mut files = args.files;
    files.extend(args.reviews);
    let options = ReportOptions {
        max_input_ratio: args.max_input_ratio,
        ..file_options(files, &args.common, semconv, costs)
    };
    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return usage_error(format!("cannot write {}: {e}", path.display())),
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match crate::dataset::run(&options, args.filter.as_deref(), &mut out) {
        Ok(rows) => {
            if let Some(path) = &args.out {
                crate::eprintln_escaped!("llmwatch: wrote {rows} rows to {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}
