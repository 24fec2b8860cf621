//! The llmwatch binary: the allocator and its tuning, then the command line parsed and handed
//! to one command of [`llmwatch::cli`].

use llmwatch::cli::args::{Cli, Command};
use llmwatch::cli::{self, ParseError};
use std::process::ExitCode;

// glibc malloc fragments badly when spans are decoded on receiver threads and freed on the
// ingest thread at eviction: RSS ran to nearly twice the memory estimate. mimalloc keeps RSS
// close to what is actually held, and is faster for this pattern (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hands memory the ingest thread freed back to the OS once it has been idle for a moment.
/// mimalloc returns freed pages only while a thread keeps allocating, so without this the pages
/// of a burst (spans decoded on receiver threads, freed at eviction by the ingest thread) stay
/// resident after the burst: measured, RSS after a million spans went from 588 to 548 MiB.
fn collect_when_idle() {
    // SAFETY: mi_collect only walks the calling thread's heap; safe to call at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// mimalloc's `mi_option_purge_delay` (its index in mimalloc.h's `mi_option_t`; libmimalloc-sys
/// exports no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Replay and report allocate records as fast as they read, while the ingest thread frees
/// evicted ones: with mimalloc's default purge delay (1 s) freed pages went back to the OS and
/// were faulted in (and zeroed) again soon after, about 20,000 page faults and 5 to 10% of a
/// million-span replay's CPU (BENCHMARKS.md). Ten seconds keeps them while the reading goes
/// on; an idle screen still hands memory back (`collect_when_idle` forces a purge).
///
/// And no transparent huge pages for the process (mimalloc asks for them, and the kernel then
/// zeroes 2 MiB at each first touch): a million-span replay took ~0.5 s less system time and
/// ~50 MiB less peak RSS without them (BENCHMARKS.md). mimalloc reads its own THP option only
/// as it starts, before main, so this asks the kernel.
fn tune_memory_for_files() {
    // SAFETY: called first thing in main, before any other thread exists (mi_option_set is not
    // thread safe); the option takes milliseconds.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10_000) };
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE reads only its integer arguments. A kernel without
    // it refuses the call, which changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// The command line, with `diff`'s `--` (baseline files before it, candidate files after it,
/// options anywhere) spelled as the option clap reads it: `--candidate`. Elsewhere `--` keeps its
/// usual meaning.
fn command_line() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "diff")
        && let Some(dash) = args.iter().skip(2).position(|a| a == "--")
    {
        args[dash + 2] = "--candidate".into();
    }
    args
}

fn main() -> ExitCode {
    // Flags over LLMWATCH_* variables over the config file's [options] over defaults.
    let parsed = match cli::parse::<Cli>(command_line()) {
        Ok(parsed) => parsed,
        // Help and version are our own text, printed as clap prints them.
        Err(ParseError::Clap(e)) if !e.use_stderr() => e.exit(),
        // A usage error quotes the argument it rejects: escaped like every printed line.
        Err(ParseError::Clap(e)) => {
            eprint!("{}", llmwatch::text::escape_lines(&e.render().to_string()));
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
        Err(e) => return cli::setup::usage_error(e),
    };
    match &parsed.cli.command {
        Some(Command::Completions(args)) => {
            return cli::generate::print_completions(&parsed.command, args.shell);
        }
        Some(Command::Man(args)) => return cli::generate::print_man(&parsed.command, args.dir.as_deref()),
        Some(Command::Config(_)) => {
            print!("{}", cli::show::render(&parsed, "config"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let args = parsed.cli;
    if matches!(
        args.command,
        Some(
            Command::Report(_)
                | Command::Replay(_)
                | Command::Check(_)
                | Command::Diff(_)
                | Command::Dataset(_)
        )
    ) {
        tune_memory_for_files();
    }
    match args.command {
        Some(Command::Report(args)) => cli::report::run(args),
        Some(Command::Replay(args)) => cli::replay::run(args),
        Some(Command::Check(args)) => cli::check::run(args),
        Some(Command::Diff(args)) => cli::diff::run(args),
        Some(Command::Demo(args)) => cli::demo::run(args),
        Some(Command::Dataset(args)) => cli::dataset::run(args),
        Some(Command::Completions(_) | Command::Man(_) | Command::Config(_)) => ExitCode::SUCCESS,
        None => {
            llmwatch::ingest::handoff::set_idle_hook(collect_when_idle);
            cli::live::run(args.live)
        }
    }
}
