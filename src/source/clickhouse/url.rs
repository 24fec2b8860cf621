//! The `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?OPTIONS]` form: where the server
//! is, who to be, which tables and which time range to read.

use super::error::Error;

use std::path::PathBuf;
use std::time::Duration;

/// Default HTTP port of ClickHouse.
pub const DEFAULT_PORT: u16 = 8123;
/// Default HTTPS port of ClickHouse (`secure=true`).
pub const DEFAULT_SECURE_PORT: u16 = 8443;

/// A parsed ClickHouse source URL. `Debug` and [`Target::display_name`] never show the password.
#[derive(Clone, PartialEq)]
pub struct Target {
    pub user: String,
    pub password: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub table: String,
    pub logs_table: String,
    pub range: TimeRange,
    /// Only this service's spans and logs (`service=`), pushed down to the sort key.
    pub service: Option<String>,
    /// Only this trace (`trace_id=`), found through the exporter's trace-id lookup table.
    pub trace_id: Option<String>,
    /// HTTPS (`secure=true`), the server's certificate verified.
    pub secure: bool,
    /// The CA certificates (PEM) the server's certificate must chain to (`ca=`), instead of the
    /// system's store.
    pub ca: Option<PathBuf>,
    /// The live tail's poll interval (`poll=`).
    pub poll: Duration,
    /// How far before the newest row seen each poll reads again (`overlap=`).
    pub overlap: Duration,
}

/// The live tail's default poll interval.
pub const DEFAULT_POLL: Duration = Duration::from_secs(2);
/// The live tail's default overlap window for late rows.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_name())
    }
}

/// Which rows by `Timestamp`; both ends optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeRange {
    /// Rows newer than now minus this many seconds (`since=`).
    pub since_secs: Option<u64>,
    /// Rows at or after this time (`from=`), as ClickHouse's best-effort parser reads it.
    pub from: Option<String>,
    /// Rows before this time (`to=`).
    pub to: Option<String>,
}

impl Target {
    /// The URL without the password, for messages and the capture name.
    pub fn display_name(&self) -> String {
        let user = if self.user.is_empty() {
            String::new()
        } else {
            format!("{}@", self.user)
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("clickhouse://{user}{host}:{}/{}", self.port, self.database)
    }
}

/// True when `s` names a ClickHouse source rather than a file.
pub fn is_clickhouse(s: &str) -> bool {
    s.get(..13)
        .is_some_and(|p| p.eq_ignore_ascii_case("clickhouse://"))
}

/// The URL as given, less the password (`user:secret@host` becomes `user@host`).
pub fn without_password(url: &str) -> String {
    let Some(rest) = url.get(13..) else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let at = rest[..authority_end].rfind('@').unwrap_or(0);
            format!("{}{user}{}", &url[..13], &rest[at..])
        }
        _ => url.to_string(),
    }
}

/// Parses the URL; the password comes from the URL or else from `env_password`
/// (`LLMWATCH_CLICKHOUSE_PASSWORD`).
pub fn parse(url: &str, env_password: Option<String>) -> Result<Target, Error> {
    let bad = |why: &str| Error::Url(why.to_string());
    if !is_clickhouse(url) {
        return Err(bad("it does not start with clickhouse://"));
    }
    let rest = &url[13..];
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((u, p)) => (decode(u)?, Some(decode(p)?)),
            None => (decode(u)?, None),
        },
        None => (String::new(), None),
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    let database = decode(path.trim_end_matches('/'))?;
    if database.is_empty() || database.contains('/') {
        return Err(bad("it names no database (clickhouse://HOST[:PORT]/DATABASE)"));
    }
    let mut target = Target {
        user,
        password: password.or(env_password).unwrap_or_default(),
        host,
        port: DEFAULT_PORT,
        database,
        table: "otel_traces".into(),
        logs_table: "otel_logs".into(),
        range: TimeRange::default(),
        service: None,
        trace_id: None,
        secure: false,
        ca: None,
        poll: DEFAULT_POLL,
        overlap: DEFAULT_OVERLAP,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value)?;
        match key {
            "table" => target.table = value,
            "logs_table" => target.logs_table = value,
            "secure" => {
                target.secure = match value.as_str() {
                    "false" | "0" | "" => false,
                    "true" | "1" => true,
                    _ => return Err(bad("secure is true or false")),
                }
            }
            "ca" if value.is_empty() => return Err(bad("ca is the path of a PEM file")),
            "ca" => target.ca = Some(PathBuf::from(value)),
            "poll" => {
                target.poll = parse_interval(&value)
                    .filter(|d| (MIN_POLL..=MAX_POLL).contains(d))
                    .ok_or_else(|| bad("poll is a duration from 100ms to 1h, like 500ms, 5s, 1m"))?;
            }
            "overlap" => {
                target.overlap = parse_interval(&value)
                    .filter(|d| *d <= MAX_OVERLAP)
                    .ok_or_else(|| bad("overlap is a duration up to 1d, like 30s, 5m"))?;
            }
            "since" => {
                target.range.since_secs = Some(
                    parse_duration(&value).ok_or_else(|| bad("since is a duration like 90s, 15m, 2h, 7d"))?,
                );
            }
            "from" => target.range.from = Some(time_text(&value)?),
            "to" => target.range.to = Some(time_text(&value)?),
            "service" => target.service = Some(value),
            "trace_id" => {
                if value.len() != 32 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("trace_id is 32 hex digits"));
                }
                target.trace_id = Some(value.to_ascii_lowercase());
            }
            other => return Err(Error::Url(format!("unknown option {other:?}"))),
        }
    }
    if target.table.is_empty() {
        return Err(bad("table is empty"));
    }
    if target.ca.is_some() && !target.secure {
        return Err(bad("ca is for HTTPS: add secure=true"));
    }
    target.port = port.unwrap_or(if target.secure {
        DEFAULT_SECURE_PORT
    } else {
        DEFAULT_PORT
    });
    Ok(target)
}

/// Host and port; `None` when the port is left to the scheme's default.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), Error> {
    // [v6]:port, host:port, host
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| Error::Url("unclosed [".into()))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None => None,
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), Some(parse_port(p)?))),
        None => Ok((s.to_string(), None)),
    }
}

fn parse_port(p: &str) -> Result<u16, Error> {
    p.parse().map_err(|_| Error::Url(format!("bad port {p:?}")))
}

/// Percent-decoding of one URL part.
fn decode(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| Error::Url("bad %-escape".into()))?);
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::Url("a %-escape is not UTF-8".into()))
}

/// Percent-encoding of a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A duration such as `90s`, `15m`, `2h`, `7d` (a bare number is seconds), in seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(mult)
}

const MIN_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(3600);
const MAX_OVERLAP: Duration = Duration::from_secs(86_400);

/// A duration as [`parse_duration`] reads it, or milliseconds (`500ms`).
fn parse_interval(s: &str) -> Option<Duration> {
    match s.trim().strip_suffix("ms") {
        Some(ms) if !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()) => {
            ms.parse().ok().map(Duration::from_millis)
        }
        Some(_) => None,
        None => parse_duration(s).map(Duration::from_secs),
    }
}

/// A time for `from`/`to`: checked here to be plain date-time text (digits, `-:.TZ+ `), which
/// also keeps it safe inside a quoted SQL string; ClickHouse parses it.
fn time_text(s: &str) -> Result<String, Error> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b':' | b'.' | b'T' | b'Z' | b'+' | b' '));
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::Url(format!(
            "bad time {s:?}: use 2026-12-07T04:00:00Z, 2026-12-07 04:00:00 or unix seconds"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_form() {
        let t = parse(
            "clickhouse://bob:s%40cret@ch.example:9000/otel?table=t&logs_table=l&secure=false&since=2h",
            None,
        )
        .unwrap();
        assert_eq!((t.user.as_str(), t.password.as_str()), ("bob", "s@cret"));
        assert_eq!(
            (t.host.as_str(), t.port, t.database.as_str()),
            ("ch.example", 9000, "otel")
        );
        assert_eq!((t.table.as_str(), t.logs_table.as_str()), ("t", "l"));
        assert_eq!(t.range.since_secs, Some(7200));
        assert_eq!(t.display_name(), "clickhouse://bob@ch.example:9000/otel");
        assert!(!format!("{t:?}").contains("cret"));
    }

    #[test]
    fn defaults_and_env_password() {
        let t = parse("clickhouse://localhost/default", Some("pw".into())).unwrap();
        assert_eq!(
            (t.port, t.table.as_str(), t.logs_table.as_str()),
            (8123, "otel_traces", "otel_logs")
        );
        assert_eq!((t.user.as_str(), t.password.as_str()), ("", "pw"));
        let t = parse("clickhouse://u:url@[::1]:8124/db", Some("env".into())).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.password.as_str()),
            ("::1", 8124, "url")
        );
    }

    #[test]
    fn refusals_say_why() {
        let err = |u: &str| parse(u, None).unwrap_err().to_string();
        assert!(err("clickhouse://h/db?secure=maybe").contains("true or false"));
        assert!(err("clickhouse://h/db?ca=/x.pem").contains("secure=true"));
        assert!(err("clickhouse://h/db?poll=10ms").contains("poll"));
        assert!(err("clickhouse://h/db?poll=2x").contains("poll"));
        assert!(err("clickhouse://h/db?overlap=2d").contains("overlap"));
        assert!(err("clickhouse://h").contains("no database"));
        assert!(err("clickhouse://h/db?tabel=x").contains("unknown option"));
        assert!(err("clickhouse://h/db?from=1';DROP").contains("bad time"));
        assert!(err("clickhouse://h:x/db").contains("bad port"));
        assert!(err("clickhouse://h/db?since=soon").contains("duration"));
    }

    #[test]
    fn https_takes_its_own_default_port_and_a_ca() {
        let t = parse("clickhouse://h/db?secure=true&ca=%2Ftmp%2Fca.pem", None).unwrap();
        assert!(t.secure);
        assert_eq!(t.port, DEFAULT_SECURE_PORT);
        assert_eq!(t.ca.as_deref(), Some(std::path::Path::new("/tmp/ca.pem")));
        let t = parse("clickhouse://h:9443/db?secure=1", None).unwrap();
        assert_eq!((t.port, t.ca), (9443, None));
        let t = parse("clickhouse://[::1]/db?secure=false", None).unwrap();
        assert_eq!((t.port, t.secure), (DEFAULT_PORT, false));
        assert_eq!(t.display_name(), "clickhouse://[::1]:8123/db");
    }

    #[test]
    fn poll_and_overlap() {
        let t = parse("clickhouse://h/db", None).unwrap();
        assert_eq!((t.poll, t.overlap), (DEFAULT_POLL, DEFAULT_OVERLAP));
        let t = parse("clickhouse://h/db?poll=500ms&overlap=2m", None).unwrap();
        assert_eq!(
            (t.poll, t.overlap),
            (Duration::from_millis(500), Duration::from_secs(120))
        );
        assert_eq!(
            parse("clickhouse://h/db?poll=5", None).unwrap().poll,
            Duration::from_secs(5)
        );
        assert_eq!(
            parse("clickhouse://h/db?overlap=0s", None).unwrap().overlap,
            Duration::ZERO
        );
    }

    #[test]
    fn the_password_is_left_out_of_names() {
        assert_eq!(
            without_password("clickhouse://bob:se:cret@h:1/db?table=t"),
            "clickhouse://bob@h:1/db?table=t"
        );
        assert_eq!(without_password("clickhouse://h/db"), "clickhouse://h/db");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("1y"), None);
    }
}
