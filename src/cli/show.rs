//! `llmwatch config`: the effective configuration of the live monitor, each value with where it
//! came from (flag, environment variable, config file or default).

use super::layers::{ConfigFile, ConfigOrigin, Parsed};
use crate::config_file::FileConfig;
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One line of the report: a name, its value and where the value came from.
struct Row {
    name: String,
    value: String,
    from: String,
}

/// The report for the subcommand `name` of `parsed` (its options are the live monitor's).
pub fn render<T>(parsed: &Parsed<T>, name: &str) -> String {
    let (command, matches) = match (
        parsed.command.find_subcommand(name),
        parsed.matches.subcommand_matches(name),
    ) {
        (Some(c), Some(m)) => (c, m),
        _ => (&parsed.command, &parsed.matches),
    };
    let mut out = String::new();
    let _ = writeln!(out, "config file: {}", file_line(parsed.config.as_ref()));
    let mut rows = option_rows(command, matches, parsed.config.as_ref(), &parsed.from_file);
    rows.extend(file_rows(parsed.config.as_ref()));
    let name_width = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    let value_width = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for r in &rows {
        let _ = writeln!(
            out,
            "{:name_width$}  {:value_width$}  {}",
            r.name, r.value, r.from
        );
    }
    // Values come from the environment and files: escaped like every printed line.
    crate::text::escape_lines(&out).into_owned()
}

fn file_line(config: Option<&ConfigFile>) -> String {
    match config {
        Some(c) => {
            let how = match c.origin {
                ConfigOrigin::Flag => "--config",
                ConfigOrigin::Env => "LLMWATCH_CONFIG",
                ConfigOrigin::DefaultPath => "the default path",
            };
            format!("{} ({how})", c.path.display())
        }
        None => match FileConfig::default_path() {
            Some(p) => format!("none ({} does not exist)", p.display()),
            None => "none (no HOME or XDG_CONFIG_HOME for the default path)".into(),
        },
    }
}

fn option_rows(
    command: &Command,
    matches: &ArgMatches,
    config: Option<&ConfigFile>,
    from_file: &BTreeMap<String, Vec<String>>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let id = arg.get_id().as_str();
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        let source = matches.value_source(id);
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        // A default that the file's `[options]` supplied.
        let from_file = config.filter(|_| from_file.contains_key(long));
        let from = match (source, from_file) {
            (Some(ValueSource::CommandLine), _) => format!("flag --{long}"),
            (Some(ValueSource::EnvVariable), _) => format!("env {}", env.unwrap_or_default()),
            (Some(ValueSource::DefaultValue), Some(c)) => format!("file {}", c.path.display()),
            (Some(ValueSource::DefaultValue), None) => "default".into(),
            _ => "unset".into(),
        };
        let value = if values.is_empty() {
            "-".into()
        } else if arg.is_hide_env_values_set() {
            // A secret (`--auth-token`): say that it is set, never what it is.
            "(set, hidden)".into()
        } else {
            values.join(", ")
        };
        rows.push(Row {
            name: long.to_string(),
            value,
            from,
        });
    }
    rows
}

/// The file's own sections: cohort keys, evaluator thresholds, prices, evaluators.
fn file_rows(config: Option<&ConfigFile>) -> Vec<Row> {
    let default = FileConfig::default();
    let file = config.map_or(&default, |c| &c.file);
    let in_file = || config.map_or("default".into(), |c| format!("file {}", c.path.display()));
    let cohorts = file.semconv().cohorts;
    let set = file.cohorts.as_ref();
    let mut rows = Vec::new();
    for (name, keys, given) in [
        (
            "cohorts.route",
            &cohorts.route,
            set.and_then(|c| c.route.as_ref()),
        ),
        (
            "cohorts.tenant",
            &cohorts.tenant,
            set.and_then(|c| c.tenant.as_ref()),
        ),
        (
            "cohorts.prompt_version",
            &cohorts.prompt_version,
            set.and_then(|c| c.prompt_version.as_ref()),
        ),
    ] {
        rows.push(Row {
            name: name.into(),
            value: keys.join(", "),
            from: if given.is_some() {
                in_file()
            } else {
                "default".into()
            },
        });
    }
    for (name, rule) in &file.evaluators {
        rows.push(Row {
            name: format!("evaluators.{name}"),
            value: format!(
                "threshold {} ({} is better)",
                rule.threshold,
                if rule.higher_is_better { "higher" } else { "lower" }
            ),
            from: in_file(),
        });
    }
    let source = crate::cost::CostTable::bundled().source().cloned();
    rows.push(Row {
        name: "prices".into(),
        value: match source {
            Some(s) => format!("bundled table, LiteLLM {}", s.litellm_version),
            None => "bundled table".into(),
        },
        from: "default".into(),
    });
    for model in file.prices.keys() {
        rows.push(Row {
            name: format!("prices.{model}"),
            value: "override".into(),
            from: in_file(),
        });
    }
    if file.builtin.is_some() {
        rows.push(Row {
            name: "builtin".into(),
            value: "[builtin] settings".into(),
            from: in_file(),
        });
    }
    for e in &file.external {
        rows.push(Row {
            name: format!("external.{}", e.name),
            value: e.command.join(" "),
            from: in_file(),
        });
    }
    rows
}
