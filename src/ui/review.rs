//! The review screens' state (issue 14): the review queue's position and the review form (a
//! small modal: `p`/`f`, a label, a note, the evaluator reviewed). Key handling here; the
//! application saves what the form returns.

use crate::model::{SpanId, SpanRecord, TraceId};
use crate::review::{DEFAULT_EVALUATOR, Review};
use crate::store::Trace;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The queue's selection: it stays on its trace while rows arrive above it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueuePos {
    pub selected: Option<TraceId>,
    pub cursor: usize,
    pub offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FormField {
    #[default]
    Verdict,
    Label,
    Note,
    Evaluator,
}

impl FormField {
    const ORDER: [FormField; 4] = [Self::Verdict, Self::Label, Self::Note, Self::Evaluator];

    fn step(self, forward: bool) -> Self {
        let n = Self::ORDER.len();
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[if forward { (i + 1) % n } else { (i + n - 1) % n }]
    }
}

/// Longest label, note or evaluator name the form takes (chars).
const MAX_TEXT: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct ReviewForm {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The reviewed span's name, for the title.
    pub span_name: String,
    /// The span's end: the review's event time.
    pub span_end_unix_nano: u64,
    pub passed: Option<bool>,
    pub label: String,
    pub note: String,
    pub evaluator: String,
    pub field: FormField,
    /// Why Enter did not save.
    pub error: Option<String>,
}

/// What a key did to the form.
#[derive(Clone, Debug, PartialEq)]
pub enum FormOutcome {
    Open,
    Cancel,
    Save(Review),
}

impl ReviewForm {
    /// The form for `span` of `trace`: the evaluator defaults to the span's failing verdict's
    /// name (a judge's, not a person's), else `human_review`.
    pub fn for_span(trace: &Trace, span: &SpanRecord) -> Self {
        let evaluator = trace
            .verdicts_for(span)
            .find(|v| v.passed == Some(false) && !v.is_human())
            .map_or_else(|| DEFAULT_EVALUATOR.to_string(), |v| v.name.to_string());
        Self {
            trace_id: trace.id,
            span_id: span.span_id,
            span_name: crate::ui::text::clean(&span.name).into_owned(),
            span_end_unix_nano: span.end_unix_nano,
            passed: None,
            label: String::new(),
            note: String::new(),
            evaluator,
            field: FormField::Verdict,
            error: None,
        }
    }

    /// The form for a whole trace: its first (by start) failing model call, else its root,
    /// else its first span. `None` for a trace without spans.
    pub fn for_trace(trace: &Trace) -> Option<Self> {
        let failing = |s: &&SpanRecord| {
            s.sem.as_deref().is_some_and(|m| m.is_model_call())
                && (s.status == crate::model::StatusCode::Error
                    || trace
                        .verdicts_for(s)
                        .any(|v| v.passed == Some(false) && !v.is_human()))
        };
        let span = trace
            .spans
            .iter()
            .filter(failing)
            .min_by_key(|s| s.start_unix_nano)
            .or_else(|| trace.root())
            .or_else(|| trace.spans.first())?;
        Some(Self::for_span(trace, span))
    }

    fn text(&mut self) -> Option<&mut String> {
        match self.field {
            FormField::Verdict => None,
            FormField::Label => Some(&mut self.label),
            FormField::Note => Some(&mut self.note),
            FormField::Evaluator => Some(&mut self.evaluator),
        }
    }

    /// Handles a key; `reviewer` and `now` stamp a saved review.
    pub fn key(&mut self, k: KeyEvent, reviewer: &str, now_unix_nano: u64) -> FormOutcome {
        match k.code {
            KeyCode::Esc => return FormOutcome::Cancel,
            KeyCode::Enter => {
                let Some(passed) = self.passed else {
                    self.error = Some("choose p (pass) or f (fail) first".into());
                    self.field = FormField::Verdict;
                    return FormOutcome::Open;
                };
                let evaluator = self.evaluator.trim();
                return FormOutcome::Save(Review {
                    trace_id: self.trace_id,
                    span_id: self.span_id,
                    evaluator: if evaluator.is_empty() {
                        DEFAULT_EVALUATOR.into()
                    } else {
                        evaluator.into()
                    },
                    passed,
                    label: self.label.trim().into(),
                    note: self.note.trim().into(),
                    reviewer: reviewer.into(),
                    event_unix_nano: self.span_end_unix_nano,
                    observed_unix_nano: now_unix_nano,
                });
            }
            KeyCode::Tab | KeyCode::Down => self.field = self.field.step(true),
            KeyCode::BackTab | KeyCode::Up => self.field = self.field.step(false),
            KeyCode::Char(c @ ('p' | 'f')) if self.field == FormField::Verdict => {
                self.passed = Some(c == 'p');
                self.error = None;
                // Straight on to the optional label.
                self.field = FormField::Label;
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(t) = self.text() {
                    t.clear();
                }
            }
            KeyCode::Char(c) if !c.is_control() => {
                if let Some(t) = self.text()
                    && t.chars().count() < MAX_TEXT
                {
                    t.push(c);
                }
            }
            KeyCode::Backspace => {
                if let Some(t) = self.text() {
                    t.pop();
                }
            }
            _ => {}
        }
        FormOutcome::Open
    }
}
