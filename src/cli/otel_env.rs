//! The OpenTelemetry SDK's exporter variables where llmwatch exports: `demo --send` without a
//! URL sends where an instrumented app would (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
//! `OTEL_EXPORTER_OTLP_ENDPOINT`), with the protocol and headers of the same variables.

use crate::ingest::send::{Headers, Protocol};

/// Where and how to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Export {
    pub url: String,
    /// `None`: told by the URL (`/v1/...` or port 4318 is HTTP, else gRPC).
    pub protocol: Option<Protocol>,
    pub headers: Headers,
}

/// `--send URL` as given, or (an empty URL) from the OTLP exporter variables read by `var`.
/// Headers from `OTEL_EXPORTER_OTLP_*HEADERS` go only to an endpoint from the same variables:
/// they often hold a vendor's API key, which must not reach a URL typed on the command line.
pub fn resolve(send: &str, var: impl Fn(&str) -> Option<String>) -> Result<Export, String> {
    if !send.is_empty() {
        return Ok(Export {
            url: send.to_string(),
            protocol: None,
            headers: Vec::new(),
        });
    }
    let var = |k: &str| var(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let protocol =
        match var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL")) {
            None => None,
            Some(p) if p == "grpc" => Some(Protocol::Grpc),
            // llmwatch sends protobuf; every OTLP/HTTP receiver takes it.
            Some(p) if p == "http/protobuf" || p == "http/json" => Some(Protocol::Http),
            Some(p) => {
                return Err(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={p:?}: expected grpc or http/protobuf"
                ));
            }
        };
    let url = match (
        var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        var("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        // The signal's own endpoint is used as it is.
        (Some(url), _) => url,
        // The base endpoint gets the signal's path over HTTP, as the SDKs do.
        (None, Some(base)) if protocol == Some(Protocol::Http) => {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        }
        (None, Some(base)) => base,
        (None, None) => {
            return Err(
                "--send without a URL sends to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or \
                        OTEL_EXPORTER_OTLP_ENDPOINT, and neither is set"
                    .into(),
            );
        }
    };
    let headers = match var("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
    {
        Some(h) => parse_headers(&h)?,
        None => Vec::new(),
    };
    Ok(Export {
        url,
        protocol,
        headers,
    })
}

/// `key1=value1,key2=value2`, values percent-encoded (the W3C baggage format the OpenTelemetry
/// specification names for `OTEL_EXPORTER_OTLP_HEADERS`).
pub fn parse_headers(text: &str) -> Result<Headers, String> {
    let mut out = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("OTEL_EXPORTER_OTLP_HEADERS: {pair:?} is not key=value"))?;
        let (key, value) = (key.trim(), percent_decode(value.trim()));
        let bad = key.is_empty() || key.chars().chain(value.chars()).any(char::is_control);
        if bad {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_HEADERS: {key:?}: an empty name or a control character"
            ));
        }
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// `%20` and the like; a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        move |k| map.get(k).map(|v| v.to_string())
    }

    #[test]
    fn a_url_on_the_command_line_wins_and_gets_no_headers() {
        let e = resolve(
            "http://127.0.0.1:4317",
            env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret"),
            ]),
        )
        .unwrap();
        assert_eq!(e.url, "http://127.0.0.1:4317");
        assert!(e.headers.is_empty());
    }

    #[test]
    fn the_base_endpoint_gets_the_traces_path_over_http() {
        let e = resolve(
            "",
            env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "Authorization=Bearer%20abc, x-team = search",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(e.url, "http://collector:4318/v1/traces");
        assert_eq!(e.protocol, Some(Protocol::Http));
        assert_eq!(
            e.headers,
            vec![
                ("Authorization".to_string(), "Bearer abc".to_string()),
                ("x-team".to_string(), "search".to_string())
            ]
        );
    }

    #[test]
    fn the_traces_endpoint_is_used_as_it_is() {
        let e = resolve(
            "",
            env(&[
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://a:9000/custom"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://b:4317"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ]),
        )
        .unwrap();
        assert_eq!(e.url, "http://a:9000/custom");
        let grpc = resolve("", env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://b:4317")])).unwrap();
        assert_eq!((grpc.url.as_str(), grpc.protocol), ("http://b:4317", None));
    }

    #[test]
    fn nothing_set_or_bad_values_are_one_line_errors() {
        assert!(resolve("", env(&[])).unwrap_err().contains("neither is set"));
        let bad = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://b:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        ]);
        assert!(resolve("", bad).unwrap_err().contains("expected grpc"));
        assert!(parse_headers("novalue").is_err());
        assert!(parse_headers("a=b%0d%0aInjected: yes").is_err());
        assert_eq!(percent_decode("100%"), "100%");
    }
}
