//! Reading captured OTLP files: OTLP/JSON lines, one ExportTraceServiceRequest,
//! ExportLogsServiceRequest or ExportMetricsServiceRequest object a line (the OpenTelemetry
//! Collector's file exporter and Python's JSON exporters write this).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

#[derive(Debug)]
pub enum Message {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
    Metrics(ExportMetricsServiceRequest),
}

/// Parses one line; `Ok(None)` for a blank line. The signal is told by the top-level key.
pub fn parse_json_line(line: &str) -> Result<Option<Message>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    // The top-level key comes first in every writer we know; fall back to a full look otherwise.
    let head = &line[..line.len().min(64)];
    let signal = if head.contains("\"resourceSpans\"") {
        "traces"
    } else if head.contains("\"resourceLogs\"") {
        "logs"
    } else if head.contains("\"resourceMetrics\"") {
        "metrics"
    } else {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        match v.as_object() {
            Some(o) if o.contains_key("resourceSpans") => "traces",
            Some(o) if o.contains_key("resourceLogs") => "logs",
            Some(o) if o.contains_key("resourceMetrics") => "metrics",
            Some(o) if o.is_empty() => return Ok(None),
            _ => {
                return Err(
                    "not an OTLP export request (no resourceSpans, resourceLogs or resourceMetrics)".into(),
                );
            }
        }
    };
    let err = |e: serde_json::Error| format!("invalid OTLP/JSON {signal}: {e}");
    Ok(Some(match signal {
        "traces" => Message::Traces(serde_json::from_str(line).map_err(err)?),
        "logs" => Message::Logs(serde_json::from_str(line).map_err(err)?),
        _ => Message::Metrics(serde_json::from_str(line).map_err(err)?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart_by_signal() {
        assert!(matches!(
            parse_json_line(r#"{"resourceSpans":[]}"#),
            Ok(Some(Message::Traces(_)))
        ));
        assert!(matches!(
            parse_json_line(r#"{"resourceLogs":[]}"#),
            Ok(Some(Message::Logs(_)))
        ));
        assert!(matches!(
            parse_json_line(r#" {"resourceMetrics":[]} "#),
            Ok(Some(Message::Metrics(_)))
        ));
        assert!(matches!(parse_json_line("   "), Ok(None)));
        assert!(
            parse_json_line(r#"{"something":1}"#)
                .unwrap_err()
                .contains("not an OTLP export request")
        );
        assert!(
            parse_json_line(r#"{"resourceSpans":[{"#)
                .unwrap_err()
                .starts_with("invalid OTLP/JSON traces")
        );
    }
}
