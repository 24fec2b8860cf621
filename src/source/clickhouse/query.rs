//! The SELECTs: the exporter's columns under short aliases, filtered on `Timestamp` (the
//! tables are partitioned by day on it) and `ServiceName` (the first column of the sort key),
//! a single trace through the exporter's `otel_traces_trace_id_ts` lookup table when present.

use super::schema::{Attributes, Schema};
use super::sql::{ident, literal};
use super::url::Target;

/// Where reading starts besides the URL's range: the live tail's cursor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cursor {
    /// Rows with `Timestamp` at or after this (unix nanoseconds).
    pub from_unix_nano: Option<u64>,
}

/// An optional column, or a stand-in of the same shape when the table lacks it.
fn or(schema: &Schema, column: &str, expr: &str, fallback: &str, alias: &str) -> String {
    if schema.has(column) {
        format!("{expr} AS {alias}")
    } else {
        format!("{fallback} AS {alias}")
    }
}

/// A JSON attributes column as text; a Map column as it is (an object in JSONEachRow).
fn attributes(schema: &Schema, expr: &str) -> String {
    match schema.attributes {
        Attributes::Map => expr.to_string(),
        Attributes::Json => format!("toJSONString({expr})"),
    }
}

/// The time, service and trace conditions shared by spans and logs.
fn conditions(target: &Target, cursor: Cursor, trace_lookup: Option<&str>) -> Vec<String> {
    let mut w = Vec::new();
    let r = &target.range;
    if let Some(s) = r.since_secs {
        w.push(format!("Timestamp >= now64(9) - toIntervalSecond({s})"));
    }
    if let Some(from) = &r.from {
        w.push(format!("Timestamp >= {}", time(from)));
    }
    if let Some(to) = &r.to {
        w.push(format!("Timestamp < {}", time(to)));
    }
    if let Some(n) = cursor.from_unix_nano {
        w.push(format!("Timestamp >= fromUnixTimestamp64Nano(toInt64({n}))"));
    }
    if let Some(service) = &target.service {
        w.push(format!("ServiceName = {}", literal(service)));
    }
    if let Some(id) = &target.trace_id {
        w.push(format!("TraceId = {}", literal(id)));
        if let Some(lookup) = trace_lookup {
            // The lookup table keeps each trace's first and last second: the scan stays in
            // those partitions.
            let table = format!("{}.{}", ident(&target.database), ident(lookup));
            let id = literal(id);
            // Compared at whole seconds, as stored there and as the sort key has them.
            w.push(format!(
                "toDateTime(Timestamp) >= (SELECT min(Start) FROM {table} WHERE TraceId = {id}) \
                 AND toDateTime(Timestamp) <= (SELECT max(End) FROM {table} WHERE TraceId = {id})"
            ));
        }
    }
    w
}

/// Unix seconds as they are, anything else through ClickHouse's best-effort parser.
fn time(t: &str) -> String {
    if t.bytes().all(|b| b.is_ascii_digit()) {
        format!("fromUnixTimestamp64Nano(toInt64({t}) * 1000000000)")
    } else {
        format!("parseDateTime64BestEffort({}, 9)", literal(t))
    }
}

fn where_clause(w: &[String]) -> String {
    if w.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", w.join(" AND "))
    }
}

/// Settings every read uses: 64-bit integers as JSON numbers, not strings.
const SETTINGS: &str = "SETTINGS output_format_json_quote_64bit_integers = 0";

/// The spans, oldest first.
pub fn spans(target: &Target, schema: &Schema, cursor: Cursor, trace_lookup: Option<&str>) -> String {
    let cols = [
        "toUnixTimestamp64Nano(Timestamp) AS ts".to_string(),
        "TraceId AS trace".into(),
        "SpanId AS span".into(),
        "ParentSpanId AS parent".into(),
        or(schema, "TraceState", "TraceState", "''", "state"),
        "SpanName AS name".into(),
        "SpanKind AS kind".into(),
        "ServiceName AS service".into(),
        format!("{} AS res", attributes(schema, "ResourceAttributes")),
        or(schema, "ScopeName", "ScopeName", "''", "scope"),
        or(schema, "ScopeVersion", "ScopeVersion", "''", "scope_version"),
        format!("{} AS attrs", attributes(schema, "SpanAttributes")),
        "Duration AS dur".into(),
        "StatusCode AS status".into(),
        or(schema, "StatusMessage", "StatusMessage", "''", "status_message"),
        or(
            schema,
            "Events.Timestamp",
            "arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`)",
            "[]",
            "ev_ts",
        ),
        or(schema, "Events.Name", "`Events.Name`", "[]", "ev_name"),
        or(
            schema,
            "Events.Attributes",
            &nested_attributes(schema, "`Events.Attributes`"),
            "[]",
            "ev_attrs",
        ),
        or(schema, "Links.TraceId", "`Links.TraceId`", "[]", "ln_trace"),
        or(schema, "Links.SpanId", "`Links.SpanId`", "[]", "ln_span"),
        or(schema, "Links.TraceState", "`Links.TraceState`", "[]", "ln_state"),
        or(
            schema,
            "Links.Attributes",
            &nested_attributes(schema, "`Links.Attributes`"),
            "[]",
            "ln_attrs",
        ),
    ];
    format!(
        "SELECT {} FROM {}.{}{} ORDER BY Timestamp {SETTINGS} FORMAT JSONEachRow",
        cols.join(", "),
        ident(&target.database),
        ident(&target.table),
        where_clause(&conditions(target, cursor, trace_lookup)),
    )
}

fn nested_attributes(schema: &Schema, expr: &str) -> String {
    match schema.attributes {
        Attributes::Map => expr.to_string(),
        Attributes::Json => format!("arrayMap(a -> toJSONString(a), {expr})"),
    }
}

/// The log records, oldest first.
pub fn logs(target: &Target, schema: &Schema, cursor: Cursor) -> String {
    let cols = [
        "toUnixTimestamp64Nano(Timestamp) AS ts".to_string(),
        "TraceId AS trace".into(),
        "SpanId AS span".into(),
        or(schema, "TraceFlags", "TraceFlags", "0", "flags"),
        "SeverityText AS severity".into(),
        or(schema, "SeverityNumber", "SeverityNumber", "0", "severity_number"),
        "Body AS body".into(),
        format!("{} AS res", attributes(schema, "ResourceAttributes")),
        or(schema, "ScopeName", "ScopeName", "''", "scope"),
        or(schema, "ScopeVersion", "ScopeVersion", "''", "scope_version"),
        format!("{} AS attrs", attributes(schema, "LogAttributes")),
        or(schema, "EventName", "EventName", "''", "event_name"),
    ];
    let mut target = target.clone();
    // Logs have no lookup table; the trace id alone selects them.
    let conditions = conditions(&target, cursor, None);
    target.trace_id = None;
    format!(
        "SELECT {} FROM {}.{}{} ORDER BY Timestamp {SETTINGS} FORMAT JSONEachRow",
        cols.join(", "),
        ident(&target.database),
        ident(&target.logs_table),
        where_clause(&conditions),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_forms() {
        assert_eq!(
            time("1700000000"),
            "fromUnixTimestamp64Nano(toInt64(1700000000) * 1000000000)"
        );
        assert_eq!(
            time("2026-12-07T04:00:00Z"),
            "parseDateTime64BestEffort('2026-12-07T04:00:00Z', 9)"
        );
    }
}
