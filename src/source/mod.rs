//! Sources other than the OTLP receivers and capture files that feed the same pipeline: they
//! produce OTLP requests, so nothing downstream knows where the data came from.

pub mod clickhouse;
