//! llmwatch: a live monitor for LLM and agent traffic over OpenTelemetry.
//!
//! Data flows one way: receivers ([`ingest`]) decode OTLP and hand it to the single ingest
//! thread, which converts it to compact records ([`model`]) and files them in the bounded
//! [`store::TraceStore`]. Everything that reads (the headless status line, the summary, later
//! the screen) reads the store.

pub mod alert;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod cost;
pub mod dataset;
pub mod demo;
pub mod diff;
pub mod eval;
pub mod forward;
pub mod ingest;
pub mod intern;
pub mod json_bytes;
pub mod log;
pub mod model;
pub mod replay;
pub mod report;
pub mod review;
pub mod semconv;
pub mod server;
pub mod signals;
pub mod source;
pub mod status;
pub mod store;
pub mod summary;
pub mod text;
pub mod ui;
pub mod view;
