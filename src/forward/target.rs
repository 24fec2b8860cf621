//! What `--forward URL` and `--forward-header K=V` name: the protocol, where each signal goes,
//! compression and the headers sent with every export.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    Http,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Grpc => "grpc",
            Self::Http => "http",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "invalid --forward URL {0:?}: expected http://HOST:PORT[/PATH] or grpc://HOST:PORT, \
         optionally ?protocol=grpc|http and ?compression=gzip|none"
    )]
    Url(String),
    #[error("--forward URL {url:?}: {reason}")]
    Option { url: String, reason: String },
    #[error("invalid --forward-header {0:?}: expected KEY=VALUE with a header name and a printable value")]
    Header(String),
}

/// One upstream, parsed from its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as given (shown in the summary and the logs).
    pub url: String,
    pub protocol: Protocol,
    /// `host:port`.
    pub authority: String,
    /// HTTP: the path the `/v1/traces`, `/v1/logs` and `/v1/metrics` paths are appended to.
    pub base_path: String,
    pub gzip: bool,
}

/// The OTLP/HTTP port: a bare `http://HOST:4318` is OTLP/HTTP, any other bare port gRPC.
const OTLP_HTTP_PORT: &str = "4318";

impl Target {
    /// The rules (documented in docs/fleet.md):
    /// - `grpc://HOST:PORT` is gRPC; `http://HOST:PORT/PATH` with a path is OTLP/HTTP;
    /// - a bare `http://HOST:PORT` is OTLP/HTTP on port 4318 and gRPC on any other port;
    /// - `?protocol=grpc` or `?protocol=http` (also `http/protobuf`) overrides either;
    /// - `?compression=none` turns gzip off (on by default).
    ///
    /// HTTP paths ending in `/v1/traces`, `/v1/logs` or `/v1/metrics` name the signal's sibling
    /// paths too. Plain text only (no TLS): put a Collector in front for https.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let bad = || TargetError::Url(url.to_string());
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let scheme_protocol = match scheme.to_ascii_lowercase().as_str() {
            "grpc" => Some(Protocol::Grpc),
            "http" => None,
            _ => return Err(bad()),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let port = authority.rsplit_once(':');
        let valid_port = port.is_some_and(|(host, p)| {
            !host.is_empty() && !p.is_empty() && p.parse::<u16>().is_ok_and(|n| n > 0)
        });
        if !valid_port || authority.contains('@') {
            return Err(bad());
        }
        let path = path.trim_end_matches('/');
        let mut protocol = scheme_protocol.unwrap_or(
            if !path.is_empty() || port.is_some_and(|(_, p)| p == OTLP_HTTP_PORT) {
                Protocol::Http
            } else {
                Protocol::Grpc
            },
        );
        let mut gzip = true;
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let option = |reason: &str| TargetError::Option {
                url: url.to_string(),
                reason: reason.to_string(),
            };
            match pair.split_once('=') {
                Some(("protocol", "grpc")) => protocol = Protocol::Grpc,
                Some(("protocol", "http" | "http/protobuf")) => protocol = Protocol::Http,
                Some(("protocol", _)) => return Err(option("protocol is grpc or http")),
                Some(("compression", "gzip")) => gzip = true,
                Some(("compression", "none")) => gzip = false,
                Some(("compression", _)) => return Err(option("compression is gzip or none")),
                _ => return Err(option(&format!("unknown option {pair:?}"))),
            }
        }
        if protocol == Protocol::Grpc && !path.is_empty() {
            return Err(TargetError::Option {
                url: url.to_string(),
                reason: "a gRPC target has no path".into(),
            });
        }
        let base_path = ["/v1/traces", "/v1/logs", "/v1/metrics", "/v1"]
            .iter()
            .find_map(|s| path.strip_suffix(s))
            .unwrap_or(path)
            .to_string();
        Ok(Self {
            url: url.to_string(),
            protocol,
            authority: authority.to_string(),
            base_path,
            gzip,
        })
    }
}

/// A header sent with every export to every target (`--forward-header K=V`), checked once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: http::HeaderName,
    pub value: http::HeaderValue,
}

impl Header {
    pub fn parse(s: &str) -> Result<Self, TargetError> {
        let bad = || TargetError::Header(s.to_string());
        let (k, v) = s.split_once('=').ok_or_else(bad)?;
        // gRPC metadata keys are lowercase; HTTP header names are case-insensitive.
        let name =
            http::HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes()).map_err(|_| bad())?;
        let value = http::HeaderValue::from_str(v.trim()).map_err(|_| bad())?;
        if name.as_str().starts_with("grpc-")
            || name == http::header::CONTENT_TYPE
            || name == http::header::CONTENT_ENCODING
        {
            return Err(bad());
        }
        Ok(Self { name, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(url: &str) -> Protocol {
        Target::parse(url).unwrap().protocol
    }

    #[test]
    fn the_url_names_the_protocol() {
        assert_eq!(proto("http://127.0.0.1:4317"), Protocol::Grpc);
        assert_eq!(proto("http://127.0.0.1:4318"), Protocol::Http);
        assert_eq!(proto("http://collector:9000"), Protocol::Grpc);
        assert_eq!(proto("grpc://collector:4318"), Protocol::Grpc);
        assert_eq!(proto("http://collector:9000/"), Protocol::Grpc);
        assert_eq!(proto("http://collector:9000/otlp"), Protocol::Http);
        assert_eq!(proto("http://collector:9000?protocol=http"), Protocol::Http);
        assert_eq!(proto("http://collector:4318?protocol=grpc"), Protocol::Grpc);
        assert_eq!(proto("http://[::1]:4318"), Protocol::Http);
    }

    #[test]
    fn signal_paths_name_their_base() {
        let t = Target::parse("http://c:4318/otlp/v1/traces").unwrap();
        assert_eq!((t.authority.as_str(), t.base_path.as_str()), ("c:4318", "/otlp"));
        assert_eq!(Target::parse("http://c:4318/v1/logs").unwrap().base_path, "");
        assert_eq!(Target::parse("http://c:4318").unwrap().base_path, "");
        assert!(Target::parse("http://c:4318").unwrap().gzip);
        assert!(!Target::parse("http://c:4318?compression=none").unwrap().gzip);
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        for url in [
            "https://c:4318",
            "c:4317",
            "http://c",
            "http://:4317",
            "http://c:0",
            "http://c:99999",
            "http://user@c:4317",
        ] {
            assert_eq!(Target::parse(url), Err(TargetError::Url(url.into())), "{url}");
        }
        for url in [
            "http://c:4317?protocol=thrift",
            "http://c:4317?compression=zstd",
            "http://c:4317?speed=max",
            "grpc://c:4317/otlp",
        ] {
            assert!(
                matches!(Target::parse(url), Err(TargetError::Option { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn headers_parse_once() {
        let h = Header::parse("X-Scope-OrgID=team-a").unwrap();
        assert_eq!(
            (h.name.as_str(), h.value.to_str().unwrap()),
            ("x-scope-orgid", "team-a")
        );
        let h = Header::parse("authorization=Bearer a=b").unwrap();
        assert_eq!(h.value.to_str().unwrap(), "Bearer a=b");
        for bad in [
            "novalue",
            "bad name=x",
            "k=line\nbreak",
            "content-type=text/plain",
            "grpc-timeout=1S",
        ] {
            assert!(Header::parse(bad).is_err(), "{bad}");
        }
    }
}
