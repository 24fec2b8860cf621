//! Moved to [`super::capture`], which reads every capture format; these names stay for the
//! code that imports them from here.

pub use super::capture::{Message, parse_json_line};
