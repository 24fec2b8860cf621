//! The commands, on top of everything else: `src/main.rs` parses the command line ([`args`],
//! with every option also from the environment (`LLMWATCH_*`) and the config file's
//! `[options]`: [`layers`]) and calls one command's `run`: [`live`] (with [`headless`]),
//! [`replay`], [`report`], [`check`], [`demo`], [`diff`], [`dataset`]; `llmwatch config`
//! ([`show`]), completions and the man page ([`generate`]). Nothing below the commands names
//! this module.

pub mod args;
pub mod check;
pub mod dataset;
pub mod demo;
pub mod diff;
pub mod generate;
pub mod headless;
pub mod layers;
pub mod live;
pub mod options;
pub mod otel_env;
pub mod replay;
pub mod report;
pub mod setup;
pub mod show;

pub use layers::{ParseError, Parsed, parse};

/// `llmwatch --version`: the version, the git commit it was built from and the date of the
/// bundled price table (both written by `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LLMWATCH_GIT_COMMIT"),
    ", prices ",
    env!("LLMWATCH_PRICES_DATE"),
    ")"
);
