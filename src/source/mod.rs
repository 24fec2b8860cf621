//! Sources other than the OTLP receivers and capture files that feed the same pipeline: they
//! produce OTLP requests, so nothing downstream knows where the data came from.

pub mod clickhouse;

/// How an input is named in summaries and on the screen: a file by its path, a ClickHouse URL
/// without its password.
pub fn input_name(path: &std::path::Path) -> String {
    match path.to_str() {
        Some(url) if clickhouse::is_clickhouse(url) => clickhouse::url::without_password(url),
        _ => path.display().to_string(),
    }
}
