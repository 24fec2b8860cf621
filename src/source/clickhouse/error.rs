//! What can go wrong reading ClickHouse, each with the one line a user is shown.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad ClickHouse URL: {0}")]
    Url(String),
    #[error("cannot reach {0}: {1}")]
    Connect(String, String),
    #[error("ClickHouse: {0}")]
    Query(String),
    #[error("{0}")]
    Schema(String),
    /// The answer broke off: ClickHouse's mid-stream error, or the connection.
    #[error("{0}")]
    Answer(String),
}
