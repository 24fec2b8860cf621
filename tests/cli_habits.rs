//! The command line's ecosystem habits, run on the real binary: completions, the man page,
//! `--version`, `LLMWATCH_*` variables, the default config file, `llmwatch config`'s
//! precedence (flag > env > file > default) and `demo --send` from the OTLP exporter variables.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const FIXTURE: &str = "tests/fixtures/otel_genai.jsonl";

/// The binary with a config home of its own and none of the caller's llmwatch or OTLP
/// variables.
fn llmwatch(config_home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmwatch"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("LLMWATCH_") || k.starts_with("OTEL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("XDG_CONFIG_HOME", config_home)
        .stdin(std::process::Stdio::null());
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_default_config(home: &Path, body: &str) -> std::path::PathBuf {
    let dir = home.join("llmwatch");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, body).unwrap();
    path
}

/// The row of `llmwatch config` for `name`: (value, from).
fn row(report: &str, name: &str) -> (String, String) {
    let line = report
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} row in\n{report}"));
    let rest = line.split_once(' ').unwrap().1.trim_start();
    let (value, from) = rest.split_once("  ").unwrap_or((rest, ""));
    let (value, from) = (value.trim().to_string(), from.trim().to_string());
    (value, from)
}

#[test]
fn completions_for_every_shell_are_generated_and_bash_parses_its_own() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = llmwatch(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{shell}: {stderr}");
        assert!(stdout.len() > 1000 && stdout.contains("llmwatch"), "{shell}");
        for word in ["replay", "max-memory", "completions"] {
            assert!(stdout.contains(word), "{shell} completes {word}");
        }
        if shell == "bash" {
            let file = home.path().join("llmwatch.bash");
            std::fs::write(&file, &stdout).unwrap();
            let parsed = Command::new("bash").arg("-n").arg(&file).output().unwrap();
            assert!(parsed.status.success(), "{}", text(&parsed).1);
        }
    }
    let bad = llmwatch(home.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_man_page_renders_and_one_page_per_command_can_be_written() {
    let home = tempfile::tempdir().unwrap();
    let out = llmwatch(home.path()).arg("man").output().unwrap();
    let (page, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        page.contains(".TH llmwatch 1"),
        "{}",
        &page[..page.len().min(400)]
    );
    assert!(page.contains("LLMWATCH_MAX_MEMORY"));
    let file = home.path().join("llmwatch.1");
    std::fs::write(&file, &page).unwrap();
    // `man -l` formats the page as a reader sees it, where man is installed.
    if let Ok(shown) = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    {
        let (shown, err) = text(&shown);
        assert!(
            shown.contains("max-memory") && shown.contains("SUBCOMMANDS"),
            "{err}"
        );
    }
    let dir = home.path().join("man1");
    let out = llmwatch(home.path())
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    for name in [
        "llmwatch.1",
        "llmwatch-replay.1",
        "llmwatch-check.1",
        "llmwatch-config.1",
    ] {
        assert!(dir.join(name).exists(), "{name}");
    }
}

#[test]
fn version_names_the_commit_and_the_price_table_date() {
    let home = tempfile::tempdir().unwrap();
    let out = llmwatch(home.path()).arg("--version").output().unwrap();
    let (line, _) = text(&out);
    assert!(out.status.success());
    let rest = line
        .trim()
        .strip_prefix(concat!("llmwatch ", env!("CARGO_PKG_VERSION"), " (commit "))
        .unwrap_or_else(|| panic!("{line}"));
    let (commit, prices) = rest.split_once(", prices ").unwrap();
    assert!(
        commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    let date = prices.strip_suffix(')').unwrap();
    assert!(date.len() == 10 && date.starts_with("20"), "{date}");
}

#[test]
fn help_names_each_option_s_environment_variable_and_the_variables_work() {
    let home = tempfile::tempdir().unwrap();
    let out = llmwatch(home.path()).arg("--help").output().unwrap();
    let (help, _) = text(&out);
    // clap wraps at the terminal width, possibly inside `[env: VAR=]`.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for var in [
        "LLMWATCH_GRPC",
        "LLMWATCH_HTTP",
        "LLMWATCH_MAX_MEMORY",
        "LLMWATCH_CONFIG",
    ] {
        assert!(help.contains(&format!("[env: {var}=")), "{var} in --help");
    }
    let out = llmwatch(home.path()).args(["replay", "--help"]).output().unwrap();
    assert!(text(&out).0.contains("LLMWATCH_SPEED"));
    // A flag from the environment: report prints span lines instead of the summary.
    let spans = llmwatch(home.path())
        .args(["report", FIXTURE])
        .env("LLMWATCH_SPANS", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&spans);
    assert!(spans.status.success(), "{stderr}");
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(first.get("span_id").is_some(), "{first}");
    let summary = llmwatch(home.path())
        .args(["report", FIXTURE])
        .env("LLMWATCH_SPANS", "false")
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    assert_eq!(s["schema_version"], 1);
}

#[test]
fn config_says_where_each_value_came_from_flag_over_env_over_file_over_default() {
    let home = tempfile::tempdir().unwrap();
    let path = write_default_config(
        home.path(),
        "[options]\nhttp = \"127.0.0.1:5318\"\nmax_memory = \"1GiB\"\nmax-spans = 1000\n\
         headless = true\nbaseline = [\"a.jsonl\", \"b.jsonl\"]\n\n[cohorts]\nroute = [\"app.route\"]\n",
    );
    let out = llmwatch(home.path())
        .args(["config", "--max-spans", "5"])
        .env("LLMWATCH_MAX_MEMORY", "2GiB")
        .env("LLMWATCH_AUTH_TOKEN", "s3cret")
        .output()
        .unwrap();
    let (report, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let file = format!("file {}", path.display());
    assert!(report.starts_with(&format!("config file: {} (the default path)", path.display())));
    assert_eq!(row(&report, "max-spans"), ("5".into(), "flag --max-spans".into()));
    assert_eq!(
        row(&report, "max-memory"),
        ("2GiB".into(), "env LLMWATCH_MAX_MEMORY".into())
    );
    assert_eq!(row(&report, "http"), ("127.0.0.1:5318".into(), file.clone()));
    assert_eq!(row(&report, "headless"), ("true".into(), file.clone()));
    assert_eq!(
        row(&report, "baseline"),
        ("a.jsonl, b.jsonl".into(), file.clone())
    );
    assert_eq!(row(&report, "grpc"), ("127.0.0.1:4317".into(), "default".into()));
    assert_eq!(row(&report, "cohorts.route"), ("app.route".into(), file.clone()));
    assert_eq!(row(&report, "cohorts.tenant").1, "default");
    // A secret is said to be set, never shown.
    assert_eq!(
        row(&report, "auth-token"),
        ("(set, hidden)".into(), "env LLMWATCH_AUTH_TOKEN".into())
    );
    assert!(!report.contains("s3cret"));

    // --config, then LLMWATCH_CONFIG, name another file instead of the default one.
    let other = home.path().join("other.toml");
    std::fs::write(&other, "[options]\ngrpc = \"127.0.0.1:6317\"\n").unwrap();
    let flag = llmwatch(home.path())
        .arg("config")
        .arg("--config")
        .arg(&other)
        .output()
        .unwrap();
    let (report, _) = text(&flag);
    assert!(report.starts_with(&format!("config file: {} (--config)", other.display())));
    assert_eq!(
        row(&report, "grpc"),
        ("127.0.0.1:6317".into(), format!("file {}", other.display()))
    );
    assert_eq!(row(&report, "http").1, "default");
    let env = llmwatch(home.path())
        .arg("config")
        .env("LLMWATCH_CONFIG", &other)
        .output()
        .unwrap();
    assert!(text(&env).0.contains("(LLMWATCH_CONFIG)"));

    let none = tempfile::tempdir().unwrap();
    let out = llmwatch(none.path()).arg("config").output().unwrap();
    assert!(text(&out).0.starts_with("config file: none ("));
}

#[test]
fn the_default_config_file_is_read_and_its_errors_name_it() {
    let home = tempfile::tempdir().unwrap();
    let path = write_default_config(home.path(), "[cohorts\nroute = 1\n");
    let out = llmwatch(home.path()).args(["report", FIXTURE]).output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("invalid config {}", path.display())),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Help and the version still show with a broken file.
    for flag in ["--help", "--version"] {
        let out = llmwatch(home.path()).arg(flag).output().unwrap();
        assert!(
            out.status.success() && out.stdout.len() > 10,
            "{flag}: {}",
            text(&out).1
        );
    }

    // A file named on the command line (or by LLMWATCH_CONFIG) is read instead.
    let good = home.path().join("good.toml");
    std::fs::write(&good, "[evaluators.default]\nthreshold = 0.5\n").unwrap();
    let out = llmwatch(home.path())
        .args(["report", FIXTURE])
        .env("LLMWATCH_CONFIG", &good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);

    // An option's value the option refuses, and an option that does not exist.
    for (body, says) in [
        (
            "[options]\ngrpc = \"nonsense\"\n",
            "[options] grpc: invalid value 'nonsense'",
        ),
        (
            "[options]\nmax-spams = 5\n",
            "[options] max-spams: no such option",
        ),
        (
            "[options]\nmax-spans = { a = 1 }\n",
            "[options] max-spans: expected a string",
        ),
    ] {
        write_default_config(home.path(), body);
        let out = llmwatch(home.path()).args(["report", FIXTURE]).output().unwrap();
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{body}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(says),
            "{stderr}"
        );
    }
    // A flag given on the command line is not the file's fault.
    write_default_config(home.path(), "[options]\nmax-spans = 10\n");
    let out = llmwatch(home.path())
        .args(["report", FIXTURE, "--max-spans", "lots"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr.contains("config"), "{stderr}");
}

#[test]
fn demo_send_without_a_url_uses_the_otlp_exporter_variables_and_their_headers() {
    let home = tempfile::tempdir().unwrap();
    let server = common::spawn_headless(&[], &[("LLMWATCH_AUTH_TOKEN", "tok-123")]);
    let send = |vars: &[(&str, String)]| {
        let mut cmd = llmwatch(home.path());
        cmd.args([
            "demo",
            "--send",
            "--speed",
            "max",
            "--duration",
            "5",
            "--rate",
            "20",
        ]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (out.status.success(), text(&out).1)
    };
    // HTTP: the base endpoint gets /v1/traces; the headers carry the token.
    let (ok, err) = send(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{}", server.http)),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20tok-123".into(),
        ),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("http://{}/v1/traces", server.http)),
        "{err}"
    );
    // gRPC: the traces endpoint, its own headers variable.
    let (ok, err) = send(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://{}", server.grpc),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "authorization=Bearer tok-123".into(),
        ),
    ]);
    assert!(ok, "{err}");
    // Without the token the receiver refuses: the headers above were what let them in.
    let (ok, err) = send(&[("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{}", server.grpc))]);
    assert!(!ok && err.contains("refused"), "{err}");
    // Nothing set: one line saying what is missing.
    let (ok, err) = send(&[]);
    assert!(!ok && err.contains("neither is set"), "{err}");
    let (stdout, _) = server.terminate();
    let got: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        got["spans"]["accepted"].as_u64().unwrap() > 50,
        "{}",
        got["spans"]
    );
    assert_eq!(
        got["requests"]["unauthorized"].as_u64(),
        Some(1),
        "{}",
        got["requests"]
    );
}
