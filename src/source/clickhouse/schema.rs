//! `DESC TABLE` before reading: which of the Collector `clickhouseexporter`'s schemas a table
//! has (attributes as `Map(LowCardinality(String), String)`, or as `JSON` with `json: true`),
//! which optional columns are there, and a clear error naming what is missing.

use super::error::Error;
use super::http;
use super::sql::ident;
use super::url::Target;
use std::io::BufRead;

/// How attribute columns are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attributes {
    /// `Map(LowCardinality(String), String)`: every value a string.
    Map,
    /// `JSON`: dotted keys as nested paths, values typed by ClickHouse.
    Json,
}

/// What a table holds, as far as reading it goes.
#[derive(Clone, Debug)]
pub struct Schema {
    pub attributes: Attributes,
    columns: Vec<String>,
}

impl Schema {
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

/// The columns a traces table needs; the others (`TraceState`, `ScopeName`, `ScopeVersion`,
/// `StatusMessage`, `Events.*`, `Links.*`) are read when present.
pub const TRACE_COLUMNS: &[&str] = &[
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "SpanAttributes",
    "Duration",
    "StatusCode",
];

/// The columns a logs table needs; `ScopeName`, `ScopeVersion`, `EventName`, `TraceFlags` and
/// `SeverityNumber` are read when present.
pub const LOG_COLUMNS: &[&str] = &[
    "Timestamp",
    "TraceId",
    "SpanId",
    "SeverityText",
    "Body",
    "ResourceAttributes",
    "LogAttributes",
];

/// Describes `table`; `Ok(None)` when it does not exist (ClickHouse's UNKNOWN_TABLE, code 60).
pub fn describe(target: &Target, table: &str) -> Result<Option<Vec<(String, String)>>, Error> {
    let sql = format!(
        "DESC TABLE {}.{} FORMAT JSONEachRow",
        ident(&target.database),
        ident(table)
    );
    let body = match http::query(target, &sql) {
        Ok(body) => body,
        Err(Error::Query(m)) if m.contains("UNKNOWN_TABLE") || m.starts_with("Code: 60.") => return Ok(None),
        Err(e) => return Err(e),
    };
    #[derive(serde::Deserialize)]
    struct Column {
        name: String,
        #[serde(rename = "type")]
        ty: String,
    }
    let mut columns = Vec::new();
    for line in body.lines() {
        let line = line.map_err(|e| Error::Query(format!("reading DESC TABLE: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let c: Column = serde_json::from_str(&line)
            .map_err(|_| Error::Query(format!("DESC TABLE answered {:?}", http::one_line(&line))))?;
        columns.push((c.name, c.ty));
    }
    Ok(Some(columns))
}

/// Checks `columns` (from [`describe`]) against `required`; `attributes_column` decides the
/// variant.
pub fn check(
    target: &Target,
    table: &str,
    columns: Vec<(String, String)>,
    required: &[&str],
    attributes_column: &str,
) -> Result<Schema, Error> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !columns.iter().any(|(n, _)| n == r))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Schema(format!(
            "{}.{} lacks column{} {}: not a table of the OpenTelemetry Collector's \
             clickhouseexporter (traces: table=, logs: logs_table=)",
            target.display_name(),
            table,
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    let ty = columns
        .iter()
        .find(|(n, _)| n == attributes_column)
        .map(|(_, t)| t.as_str())
        .unwrap_or_default();
    let attributes = if ty.starts_with("Map(") {
        Attributes::Map
    } else if ty.starts_with("JSON") || ty.starts_with("Object(") {
        Attributes::Json
    } else {
        return Err(Error::Schema(format!(
            "{}.{}: {attributes_column} is {ty}, expected Map(LowCardinality(String), String) or JSON",
            target.display_name(),
            table
        )));
    };
    // Nested columns are listed flattened (`Events.Name`) by default, whole with
    // flatten_nested=0; both answer to `Events.Name` in a SELECT.
    let mut names: Vec<String> = columns.into_iter().map(|(n, _)| n).collect();
    for nested in ["Events", "Links"] {
        if names.iter().any(|n| n == nested) {
            for sub in [
                "Timestamp",
                "Name",
                "Attributes",
                "TraceId",
                "SpanId",
                "TraceState",
            ] {
                names.push(format!("{nested}.{sub}"));
            }
        }
    }
    Ok(Schema {
        attributes,
        columns: names,
    })
}

/// Whether `table` exists, without failing when it does not.
pub fn exists(target: &Target, table: &str) -> Result<bool, Error> {
    Ok(describe(target, table)?.is_some())
}
