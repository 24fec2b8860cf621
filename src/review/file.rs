//! The reviews file (`--reviews FILE`): every review appended at once as one OTLP/JSON logs line
//! (written, flushed and fsync'ed before the form closes, so a crash loses nothing saved), and
//! read back at start through the capture reader like any file source, so past reviews show
//! again.

use super::Review;
use crate::ingest::handoff::Pipeline;
use crate::replay::Speed;
use crate::report::{InputStats, ReportError, ReportOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ReviewsError {
    #[error("cannot write the review to {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot read the reviews {path}: {source}")]
    Read { path: String, source: ReportError },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewsFile {
    path: PathBuf,
}

impl ReviewsFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$XDG_DATA_HOME/llmwatch/reviews.jsonl`, else `~/.local/share/llmwatch/reviews.jsonl`
    /// (`None` with neither variable set).
    pub fn default_path() -> Option<PathBuf> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        // The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
        let base = var("XDG_DATA_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|h| h.join(".local").join("share")))?;
        Some(base.join("llmwatch").join("reviews.jsonl"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the review's line, creating the file and its directory when needed; returns
    /// once the line is on disk.
    pub fn append(&self, review: &Review) -> Result<(), ReviewsError> {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            // One write of the whole line: concurrent appenders never interleave within it.
            let mut line = review.line();
            line.push('\n');
            f.write_all(line.as_bytes())?;
            f.flush()?;
            f.sync_data()
        };
        write().map_err(|source| ReviewsError::Write {
            path: self.path.display().to_string(),
            source,
        })
    }

    /// Feeds the file (if it exists) through `pipeline` at full speed and waits until it is
    /// stored: the reviews become human verdicts (semconv reads `annotator_kind = HUMAN`).
    /// Call before traffic. Returns the lines read (0 without a file).
    pub fn load_into(&self, pipeline: &Arc<Pipeline>, template: &ReportOptions) -> Result<u64, ReviewsError> {
        if !self.path.exists() {
            return Ok(0);
        }
        let options = ReportOptions {
            files: vec![self.path.clone()],
            spans: false,
            speed: Speed::Max,
            status_every: None,
            recorder: None,
            ..template.clone()
        };
        let stats: InputStats = match crate::report::feed_files(&options, pipeline, None) {
            Ok(s) => s,
            // An empty reviews file is no error.
            Err(ReportError::Empty) => InputStats::default(),
            Err(source) => {
                return Err(ReviewsError::Read {
                    path: self.path.display().to_string(),
                    source,
                });
            }
        };
        pipeline.flush();
        Ok(stats.lines)
    }
}
