//! The three OTLP signals, as the decode bounds tell their requests apart.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}
