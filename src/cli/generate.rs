//! `llmwatch completions SHELL` and `llmwatch man`: generated from the same clap definition the
//! binary parses with, so they never drift from the options.

use super::setup::usage_error;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub use clap_complete::Shell;

/// Writes the completion script for `shell` to `out`. Generated into memory first: the
/// generator panics on a write error, and a closed pipe (`| head`) is not a bug.
pub fn completions(mut cmd: clap::Command, shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// Writes the llmwatch(1) man page to `out`.
pub fn man(cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(cmd).render(out)
}

/// Writes llmwatch.1 and one page per subcommand (llmwatch-replay.1, ...) into `dir`.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(cmd, dir)
}

/// `llmwatch completions SHELL`: the script on stdout.
pub fn print_completions(cmd: &clap::Command, shell: Shell) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match completions(cmd.clone(), shell, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): nothing to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write the completions: {e}")),
    }
}

/// `llmwatch man [--dir DIR]`: the page on stdout, or one page per command into DIR.
pub fn print_man(cmd: &clap::Command, dir: Option<&Path>) -> ExitCode {
    let written = match dir {
        Some(dir) => man_pages(cmd.clone(), dir),
        None => man(cmd.clone(), &mut std::io::stdout().lock()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write the man page: {e}")),
    }
}

/// `llmwatch completions SHELL`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `llmwatch man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write llmwatch.1 and a page per command (llmwatch-replay.1, ...) into DIR instead of
    /// printing llmwatch.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}
