//! Where an option's value comes from: the command line, then `LLMWATCH_*` environment
//! variables, then the config file's `[options]` table, then the built-in default. clap does
//! the layering: each option gets its environment variable, and a value from the file becomes
//! that option's default, so every layer goes through the option's own parser.

use crate::config_file::{ConfigError, FileConfig};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// How the config file was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// `--config FILE`.
    Flag,
    /// `LLMWATCH_CONFIG`.
    Env,
    /// `$XDG_CONFIG_HOME/llmwatch/config.toml` (or `~/.config/...`), which exists.
    DefaultPath,
}

/// The config file in force, if any.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub origin: ConfigOrigin,
    pub file: FileConfig,
}

/// A parsed command line with what is needed to say where each value came from.
pub struct Parsed<T> {
    pub cli: T,
    /// The command as parsed (environment variables and the file's defaults attached).
    pub command: Command,
    pub matches: ArgMatches,
    pub config: Option<ConfigFile>,
    /// The file's `[options]` applied, by option long name.
    pub from_file: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Usage errors, help and version: clap prints them.
    #[error(transparent)]
    Clap(#[from] clap::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The environment variable of an option: `--max-memory` reads `LLMWATCH_MAX_MEMORY`.
pub fn env_name(long: &str) -> String {
    format!("LLMWATCH_{}", long.to_ascii_uppercase().replace('-', "_"))
}

/// Options that take part in the layering: named options, not help, version or the internal
/// spelling of `diff`'s `--`.
fn layered(arg: &clap::Arg) -> Option<&str> {
    let long = arg.get_long()?;
    let internal = matches!(long, "help" | "version" | "candidate")
        || matches!(arg.get_action(), ArgAction::Help | ArgAction::Version);
    (!internal).then_some(long)
}

/// Gives every option of `cmd` and its subcommands its `LLMWATCH_*` variable (shown in
/// `--help`). A flag reads the variable as a boolean: `0`, `false`, `no`, `off` (or empty)
/// leave it off, anything else turns it on.
pub fn with_env(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        let Some(long) = layered(&arg) else { return arg };
        if arg.get_env().is_some() {
            return arg;
        }
        let name = env_name(long);
        match arg.get_action() {
            ArgAction::SetTrue => arg
                .env(name)
                .value_parser(clap::builder::FalseyValueParser::new()),
            _ => arg.env(name),
        }
    })
    .mut_subcommands(|sub| if about_llmwatch(&sub) { sub } else { with_env(sub) })
}

/// `completions` and `man` describe llmwatch rather than run it: their options stay out of
/// the environment and the config file.
fn about_llmwatch(cmd: &Command) -> bool {
    matches!(cmd.get_name(), "completions" | "man")
}

/// Every option's long name anywhere in the command tree.
fn all_longs(cmd: &Command, into: &mut Vec<String>) {
    into.extend(cmd.get_arguments().filter_map(layered).map(str::to_string));
    for sub in cmd.get_subcommands().filter(|s| !about_llmwatch(s)) {
        all_longs(sub, into);
    }
}

/// The file's `[options]` as each option's default, in every command that has the option.
fn with_file_defaults(cmd: Command, options: &BTreeMap<String, Vec<String>>) -> Command {
    cmd.mut_args(|arg| {
        // clap forbids a default on a required option (`check --rules`): the file cannot
        // stand in for it.
        let values = layered(&arg)
            .filter(|_| !arg.is_required_set())
            .and_then(|long| options.get(long));
        match values {
            Some(values) => arg.default_values(values.clone()),
            None => arg,
        }
    })
    .mut_subcommands(|sub| {
        if about_llmwatch(&sub) {
            sub
        } else {
            with_file_defaults(sub, options)
        }
    })
}

/// `[options]` keys as option names (`max_memory` and `max-memory` alike), checked against the
/// options that exist, and values as command-line text.
fn file_options(cmd: &Command, config: &ConfigFile) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let mut known = Vec::new();
    all_longs(cmd, &mut known);
    known.sort();
    known.dedup();
    let mut out = BTreeMap::new();
    for (key, value) in &config.file.options {
        let long = key.replace('_', "-");
        let fail = |message: String| ConfigError::Parse {
            path: config.path.display().to_string(),
            message: format!("[options] {key}: {message}"),
        };
        if long == "config" {
            return Err(fail("a config file cannot name another".into()));
        }
        if !known.contains(&long) {
            return Err(fail(format!("no such option (one of {})", known.join(", "))));
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
            v => scalar(v).map(|s| vec![s]),
        }
        .ok_or_else(|| fail("expected a string, number, boolean or a list of them".into()))?;
        out.insert(long, values);
    }
    Ok(out)
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `--config` value (or `LLMWATCH_CONFIG`) of the subcommand actually named, read from a
/// lenient first pass over the command line.
fn config_named(cmd: &Command, args: &[OsString]) -> Option<(PathBuf, ConfigOrigin)> {
    let matches = cmd.clone().ignore_errors(true).try_get_matches_from(args).ok()?;
    let mut m = &matches;
    while let Some((_, sub)) = m.subcommand() {
        m = sub;
    }
    let path = m.try_get_one::<PathBuf>("config").ok().flatten()?.clone();
    let origin = match m.value_source("config") {
        Some(ValueSource::EnvVariable) => ConfigOrigin::Env,
        _ => ConfigOrigin::Flag,
    };
    Some((path, origin))
}

/// Reads the config file in force: the one named, else the default path when it exists.
fn find_config(cmd: &Command, args: &[OsString]) -> Result<Option<ConfigFile>, ConfigError> {
    let (path, origin) = match config_named(cmd, args) {
        Some(named) => named,
        None => match FileConfig::default_path().filter(|p| p.exists()) {
            Some(p) => (p, ConfigOrigin::DefaultPath),
            None => return Ok(None),
        },
    };
    let file = FileConfig::load(&path)?;
    Ok(Some(ConfigFile { path, origin, file }))
}

/// Parses `args` into `T` with every layer in place. A value from the file that its option
/// refuses is reported with the file's path.
pub fn parse<T: CommandFactory + FromArgMatches>(args: Vec<OsString>) -> Result<Parsed<T>, ParseError> {
    let cmd = with_env(T::command());
    let config = match find_config(&cmd, &args) {
        Ok(c) => c,
        Err(e) => {
            // Help and version need no config: a broken file must not hide them.
            if let Err(shown) = cmd.clone().try_get_matches_from(&args)
                && !shown.use_stderr()
            {
                return Err(shown.into());
            }
            return Err(e.into());
        }
    };
    let from_file = match &config {
        Some(c) => file_options(&cmd, c)?,
        None => BTreeMap::new(),
    };
    let mut command = with_file_defaults(cmd, &from_file);
    let matches = match command.try_get_matches_from_mut(&args) {
        Ok(m) => m,
        Err(e) => return Err(blame_file(e, config.as_ref(), &from_file)),
    };
    let cli = T::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    Ok(Parsed {
        cli,
        command,
        matches,
        config,
        from_file,
    })
}

/// A refused value that only the file gave is the file's error, named by its path.
fn blame_file(
    e: clap::Error,
    config: Option<&ConfigFile>,
    from_file: &BTreeMap<String, Vec<String>>,
) -> ParseError {
    use clap::error::{ContextKind, ContextValue};
    let (Some(config), Some(ContextValue::String(arg))) = (config, e.get(ContextKind::InvalidArg)) else {
        return e.into();
    };
    let long = arg
        .trim_start_matches("--")
        .split([' ', '='])
        .next()
        .unwrap_or("");
    let Some(values) = from_file.get(long) else {
        return e.into();
    };
    let given = e
        .get(ContextKind::InvalidValue)
        .map(|v| v.to_string())
        .unwrap_or_default();
    if !values.contains(&given) {
        return e.into();
    }
    let rendered = e.render().to_string();
    let reason = rendered
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string();
    ConfigError::Parse {
        path: config.path.display().to_string(),
        message: format!("[options] {long}: {reason}"),
    }
    .into()
}
