//! What the command line adds around the commands: every option also from the environment
//! (`LLMWATCH_*`) and from the config file's `[options]`, the default config file, `llmwatch
//! config`, shell completions and the man page. The commands themselves stay in `main.rs`.

pub mod generate;
pub mod layers;
pub mod otel_env;
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
