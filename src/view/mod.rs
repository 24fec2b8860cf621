//! The dashboard's view of the store: rows and windowed aggregates kept up to date from the
//! store's change log, so that a frame reads bounded data and never scans the buffer.

pub mod compare;
pub mod hist;
pub mod index;
pub mod query;
pub mod review;
pub mod row;
pub mod series;
pub mod sessions;
pub mod stats;
