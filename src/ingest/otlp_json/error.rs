//! Why a text is not an OTLP/JSON request, and where in it the decoder stopped: the one error
//! of [`super::traces`] and [`super::logs`], made by the scanner.

use std::borrow::Cow;
use std::fmt;

/// Why a text is not an OTLP/JSON request, and where in it the decoder stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    message: Cow<'static, str>,
    line: usize,
    column: usize,
    /// Not valid JSON (as opposed to JSON of the wrong shape).
    syntax: bool,
    /// The text ends before the JSON value does.
    eof: bool,
}

impl Error {
    /// An error at byte `at` of `text`.
    pub(super) fn at(text: &[u8], at: usize, message: Cow<'static, str>, syntax: bool) -> Error {
        let before = &text[..at.min(text.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        Error {
            message,
            line,
            column,
            syntax,
            eof: false,
        }
    }

    /// serde_json's own error when the text is not JSON at all (its messages, lines and
    /// classification, which capture reading relies on to tell a cut line), else this one.
    pub(super) fn or_syntax_of(self, text: &[u8]) -> Error {
        use serde_json::error::Category;
        match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            Ok(_) => self,
            Err(e) => Error {
                message: e.to_string().into(),
                line: e.line(),
                column: e.column(),
                syntax: true,
                eof: e.classify() == Category::Eof,
            }
            .without_position(),
        }
    }

    /// serde_json's message already ends in its position.
    fn without_position(mut self) -> Error {
        self.column = 0;
        self
    }

    /// 1-based line of the text where decoding stopped.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Whether the text is not valid JSON (rather than JSON that is not such a request).
    pub fn is_syntax(&self) -> bool {
        self.syntax
    }

    /// Whether the text ends before its JSON value does.
    pub fn is_eof(&self) -> bool {
        self.eof
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.column == 0 {
            return f.write_str(&self.message);
        }
        write!(f, "{} at line {} column {}", self.message, self.line, self.column)
    }
}

impl std::error::Error for Error {}
