//! `llmwatch diff BASELINE... -- CANDIDATE...`: two sets of captures compared per cohort, as
//! a table or JSON; exit 1 when a change beyond noise breaks a `--fail-on` limit.

use super::args::DiffArgs;
use super::setup::{file_options, load_config, usage_error};
use crate::report::ReportOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(args: DiffArgs) -> ExitCode {
    use crate::diff::{self, DiffOptions, table};
    let by = match args.by.parse() {
        Ok(k) if diff::BY.contains(&k) => k,
        Ok(k) => {
            return usage_error(format!(
                "--by {k}: one of route, model, tenant, prompt_version, service"
            ));
        }
        Err(e) => return usage_error(format!("--by: {e}")),
    };
    let fail_on = match args.fail_on.as_deref().map(str::parse).transpose() {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let side = |files| ReportOptions {
        max_input_ratio: args.max_input_ratio,
        ..file_options(files, &args.common, semconv.clone(), costs.clone())
    };
    let options = DiffOptions {
        baseline: side(args.baseline.clone()),
        candidate: side(args.candidate.clone()),
        by,
        fail_on,
    };
    let outcome = match diff::run(&options) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    for (name, read) in [("baseline", &outcome.baseline), ("candidate", &outcome.candidate)] {
        if read.evicted > 0 {
            crate::eprintln_escaped!(
                "llmwatch diff: warning: {} {name} spans were evicted before the end and are not compared; raise --max-spans or --max-memory",
                read.evicted
            );
        }
    }
    let names =
        |files: &[PathBuf]| -> Vec<String> { files.iter().map(|f| crate::source::input_name(f)).collect() };
    let (baseline_files, candidate_files) = (names(&args.baseline), names(&args.candidate));
    let heading = table::Heading {
        by: by.as_str(),
        baseline_traces: outcome.baseline.traces,
        candidate_traces: outcome.candidate.traces,
        baseline_files: &baseline_files,
        candidate_files: &candidate_files,
    };
    let text = if args.json {
        format!(
            "{}\n",
            crate::text::json_for_terminal(table::to_json(&heading, &outcome.rows).to_string())
        )
    } else {
        let colour =
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        table::render(&heading, &outcome.rows, options.fail_on.is_some(), colour)
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    if outcome.fails() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
