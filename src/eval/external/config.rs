//! One `[[external]]` entry of the config file, and its checks.

use serde::Deserialize;
use std::time::Duration;

/// Evaluations a worker may run at once unless configured.
pub const DEFAULT_CONCURRENCY: usize = 2;
/// Spans that may wait for a worker unless configured.
pub const DEFAULT_QUEUE: usize = 256;
/// How long one evaluation may take unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// What "slow" means when neither `slow_ms` nor a `[builtin]` latency budget says.
pub const DEFAULT_SLOW_MS: f64 = 10_000.0;
/// A call costing more than this multiple of its model's running median is a cost outlier.
pub const DEFAULT_COST_OUTLIER_FACTOR: f64 = 3.0;
/// Most processes one entry may run at once, and most spans it may hold waiting: guards against
/// a typo taking the machine.
const MAX_CONCURRENCY: usize = 64;
const MAX_QUEUE: usize = 1_000_000;

/// `[[external]]`: run `command` on a share of the LLM calls (see the module documentation).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalConfig {
    /// The verdicts' name (unless the evaluator names them itself).
    pub name: String,
    /// Program and arguments, run without a shell.
    pub command: Vec<String>,
    /// Share of the eligible calls evaluated, 0..=1 (default 1: all).
    #[serde(default = "one")]
    pub sample: f64,
    /// Only calls of this route (exact).
    pub route: Option<String>,
    /// Only calls of this model (requested or answering, case-insensitive).
    pub model: Option<String>,
    /// Longest one evaluation may run, as "500ms", "5s" or "1m" (default 10s).
    pub timeout: Option<String>,
    /// Processes run at once (default 2).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Calls that may wait for a free process (default 256); past it they are dropped, counted.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Calls evaluated whatever the sample: "error", "slow", "cost_outlier".
    #[serde(default)]
    pub always: Vec<String>,
    /// What "slow" means, in ms (default: the route's `[builtin]` latency budget, else 10000).
    pub slow_ms: Option<f64>,
    /// A cost outlier costs more than this multiple of its model's running median (default 3).
    pub cost_outlier_factor: Option<f64>,
}

fn one() -> f64 {
    1.0
}

fn default_concurrency() -> usize {
    DEFAULT_CONCURRENCY
}

fn default_queue() -> usize {
    DEFAULT_QUEUE
}

/// Which failures are evaluated whatever the sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Always {
    pub error: bool,
    pub slow: bool,
    pub cost_outlier: bool,
}

impl Always {
    pub const NAMES: [&str; 3] = ["error", "slow", "cost_outlier"];

    pub fn any(self) -> bool {
        self.error || self.slow || self.cost_outlier
    }
}

impl ExternalConfig {
    /// Checks what serde cannot; the message names the entry (`#index "name"`) and fits a line.
    pub fn validate(&self, index: usize) -> Result<(), String> {
        let who = format!("[[external]] #{} {:?}", index + 1, self.name);
        let fail = |what: String| Err(format!("{who}: {what}"));
        if self.name.trim().is_empty() {
            return Err(format!("[[external]] #{}: name is empty", index + 1));
        }
        match self.command.first() {
            None => return fail("command is empty (give the program and its arguments as a list)".into()),
            Some(p) if p.trim().is_empty() => return fail("command names no program".into()),
            Some(_) => {}
        }
        if !(0.0..=1.0).contains(&self.sample) {
            return fail(format!("sample must be between 0 and 1, not {}", self.sample));
        }
        if let Some(t) = &self.timeout {
            let d = parse_duration(t).map_err(|e| format!("{who}: timeout: {e}"))?;
            if d.is_zero() {
                return fail("timeout must be more than 0".into());
            }
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return fail(format!(
                "concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
                self.concurrency
            ));
        }
        if self.queue == 0 || self.queue > MAX_QUEUE {
            return fail(format!(
                "queue must be between 1 and {MAX_QUEUE}, not {}",
                self.queue
            ));
        }
        for a in &self.always {
            if !Always::NAMES.contains(&a.as_str()) {
                return fail(format!(
                    "unknown always item {a:?} (expected {})",
                    Always::NAMES.join(", ")
                ));
            }
        }
        for (what, v) in [
            ("slow_ms", self.slow_ms),
            ("cost_outlier_factor", self.cost_outlier_factor),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return fail(format!("{what} must be a positive number, not {v}"));
            }
        }
        for (what, v) in [("route", &self.route), ("model", &self.model)] {
            if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return fail(format!("{what} is empty (leave it out to take every {what})"));
            }
        }
        Ok(())
    }

    /// The timeout (validated: a bad one falls back to the default).
    pub fn timeout(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    pub fn always(&self) -> Always {
        let has = |n: &str| self.always.iter().any(|a| a == n);
        Always {
            error: has("error"),
            slow: has("slow"),
            cost_outlier: has("cost_outlier"),
        }
    }

    pub fn cost_outlier_factor(&self) -> f64 {
        self.cost_outlier_factor.unwrap_or(DEFAULT_COST_OUTLIER_FACTOR)
    }
}

/// "500ms", "5s", "1.5s", "2m" (a number and a unit: ms, s or m).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like \"500ms\", \"5s\" or \"1m\""))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "" => {
            return Err(format!(
                "{s:?} has no unit (write \"{number}s\" or \"{number}ms\")"
            ));
        }
        other => return Err(format!("unknown unit {other:?} in {s:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> Result<ExternalConfig, String> {
        let text = format!("name = \"Judge\"\ncommand = [\"judge\"]\n{extra}");
        let c: ExternalConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
        c.validate(0)?;
        Ok(c)
    }

    #[test]
    fn defaults_and_a_full_entry() {
        let c = entry("").unwrap();
        assert_eq!(c.sample, 1.0);
        assert_eq!((c.concurrency, c.queue), (DEFAULT_CONCURRENCY, DEFAULT_QUEUE));
        assert_eq!(c.timeout(), DEFAULT_TIMEOUT);
        assert!(!c.always().any());
        assert_eq!(c.cost_outlier_factor(), 3.0);

        let c = entry(
            r#"
            sample = 0.1
            route = "/benefits-policy"
            model = "gpt-4o"
            timeout = "1500ms"
            concurrency = 4
            queue = 8
            always = ["error", "cost_outlier"]
            slow_ms = 5000
            cost_outlier_factor = 5
            "#,
        )
        .unwrap();
        assert_eq!(c.timeout(), Duration::from_millis(1500));
        assert_eq!(
            c.always(),
            Always {
                error: true,
                slow: false,
                cost_outlier: true
            }
        );
        assert_eq!((c.concurrency, c.queue, c.slow_ms), (4, 8, Some(5000.0)));
        assert_eq!(c.cost_outlier_factor(), 5.0);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5h").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("fast").unwrap_err().contains("not a duration"));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn bad_entries_are_refused_in_one_line_naming_the_entry() {
        for (extra, expect) in [
            ("sample = 1.5", "sample must be between 0 and 1"),
            ("sample = -0.1", "sample must be between 0 and 1"),
            ("concurrency = 0", "concurrency must be between 1 and 64"),
            ("queue = 0", "queue must be between 1"),
            ("always = [\"slowness\"]", "unknown always item \"slowness\""),
            ("timeout = \"5\"", "timeout: \"5\" has no unit"),
            ("timeout = \"soon\"", "timeout: \"soon\" is not a duration"),
            ("timeout = \"0s\"", "timeout must be more than 0"),
            ("slow_ms = 0", "slow_ms must be a positive number"),
            (
                "cost_outlier_factor = -2",
                "cost_outlier_factor must be a positive number",
            ),
            ("route = \"\"", "route is empty"),
        ] {
            let err = entry(extra).unwrap_err();
            assert!(err.starts_with("[[external]] #1 \"Judge\": "), "{extra}: {err}");
            assert!(err.contains(expect), "{extra}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let c: ExternalConfig = toml::from_str("name = \"J\"\ncommand = []").unwrap();
        assert!(
            c.validate(2)
                .unwrap_err()
                .starts_with("[[external]] #3 \"J\": command is empty")
        );
        let c: ExternalConfig = toml::from_str("name = \" \"\ncommand = [\"x\"]").unwrap();
        assert_eq!(c.validate(0).unwrap_err(), "[[external]] #1: name is empty");
        let e = toml::from_str::<ExternalConfig>("name = \"J\"\ncommand = [\"x\"]\nsampel = 1").unwrap_err();
        assert!(e.to_string().contains("unknown field `sampel`"), "{e}");
        let e = toml::from_str::<ExternalConfig>("name = \"J\"\ncommand = \"judge.py\"").unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }
}
