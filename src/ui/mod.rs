//! The dashboard: a ratatui screen drawn from the store through [`crate::view`]. The engine
//! knows nothing of the terminal; [`app::App`] pulls changes when told and draws bounded views.

pub mod app;
pub mod baseline;
pub mod drill;
pub mod keys;
pub mod osc52;
pub mod panes;
pub mod review;
pub mod run;
pub mod state;
pub mod svg;
pub mod text;
pub mod theme;
pub mod view;
