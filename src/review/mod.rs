//! Human reviews (issue 14, part 2): what a person decided about a span on the review form, as
//! a [`Verdict`] for the store (source `human`) and as one OTLP/JSON logs line for the reviews
//! file, so the file is a capture `report`, `replay` and `check` read like any other, and any
//! OTLP backend accepts.
//!
//! The line is an `ExportLogsServiceRequest` with one `gen_ai.evaluation.result` log record:
//! trace and span ids, `gen_ai.evaluation.name`, `.score.label` (the label, else `pass`/`fail`),
//! `.score.value` (1.0 / 0.0), `.explanation` (the note), `annotator_kind = "HUMAN"`
//! (OpenInference's annotation field, which semconv reads back as a human verdict) and
//! `user.name`; resource `service.name = "llmwatch-review"`.

pub mod file;

use crate::intern::Sym;
use crate::model::{SpanId, TraceId};
use crate::semconv::{Verdict, VerdictSource};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// The evaluator a review judges when the span has no failing verdict to answer.
pub const DEFAULT_EVALUATOR: &str = "human_review";
/// The resource the reviews file's lines name.
pub const SERVICE_NAME: &str = "llmwatch-review";

/// One person's verdict on one span.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The evaluator reviewed: the span's failing verdict's name, else [`DEFAULT_EVALUATOR`].
    pub evaluator: String,
    pub passed: bool,
    /// A label such as `stale-policy` (empty: none).
    pub label: String,
    /// The note (empty: none).
    pub note: String,
    /// Who reviewed (`$USER`).
    pub reviewer: String,
    /// Event time of the verdict: the reviewed span's end, so a review sits in the traffic's
    /// timeline (a replayed capture's windows are not pulled to the wall clock).
    pub event_unix_nano: u64,
    /// When the person saved it (wall clock).
    pub observed_unix_nano: u64,
}

impl Review {
    /// What the file's `gen_ai.evaluation.score.label` says: the label, else pass/fail.
    pub fn score_label(&self) -> &str {
        match self.label.trim() {
            "" if self.passed => "pass",
            "" => "fail",
            l => l,
        }
    }

    pub fn score(&self) -> f64 {
        if self.passed { 1.0 } else { 0.0 }
    }

    /// The verdict as the store holds it (what reading the line back gives too).
    pub fn verdict(&self) -> Verdict {
        let note = self.note.trim();
        Verdict {
            trace_id: Some(self.trace_id),
            target: Some(self.span_id),
            response_id: None,
            name: Sym::from(self.evaluator.as_str()),
            score: Some(self.score()),
            label: Some(Sym::from(self.score_label())),
            explanation: (!note.is_empty()).then(|| note.into()),
            passed: Some(self.passed),
            source: VerdictSource::Human,
            time_unix_nano: self.event_unix_nano,
            reviewer: (!self.reviewer.is_empty()).then(|| self.reviewer.as_str().into()),
        }
    }

    /// The review as an OTLP logs request of one record.
    pub fn request(&self) -> ExportLogsServiceRequest {
        let text = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        };
        let mut attributes = vec![
            text("gen_ai.evaluation.name", &self.evaluator),
            text("gen_ai.evaluation.score.label", self.score_label()),
            KeyValue {
                key: "gen_ai.evaluation.score.value".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::DoubleValue(self.score())),
                }),
                ..Default::default()
            },
        ];
        if !self.note.trim().is_empty() {
            attributes.push(text("gen_ai.evaluation.explanation", self.note.trim()));
        }
        attributes.push(text("annotator_kind", "HUMAN"));
        attributes.push(text("user.name", &self.reviewer));
        let record = LogRecord {
            time_unix_nano: self.event_unix_nano,
            observed_time_unix_nano: self.observed_unix_nano,
            severity_number: 9,
            severity_text: "INFO".into(),
            event_name: crate::semconv::normalise::EVALUATION_EVENT.into(),
            attributes,
            trace_id: self.trace_id.0.to_vec(),
            span_id: self.span_id.0.to_vec(),
            ..Default::default()
        };
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![text("service.name", SERVICE_NAME)],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "llmwatch.review".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    log_records: vec![record],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// The reviews file's line (no newline), written by the recorder's encoder.
    pub fn line(&self) -> String {
        crate::ingest::record::Recorder::encode_logs(&self.request()).0
    }
}

/// The reviewer's name: `$USER`, else `$LOGNAME`, else `unknown`.
pub fn reviewer() -> String {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConvertLimits, Converter};
    use std::sync::Arc;

    fn review(label: &str, note: &str) -> Review {
        Review {
            trace_id: TraceId([0xab; 16]),
            span_id: SpanId([0xcd; 8]),
            evaluator: "Groundedness".into(),
            passed: false,
            label: label.into(),
            note: note.into(),
            reviewer: "ada".into(),
            event_unix_nano: 1_800_000_000_000_000_000,
            observed_unix_nano: 1_900_000_000_000_000_000,
        }
    }

    fn attr<'a>(r: &'a LogRecord, key: &str) -> Option<&'a any_value::Value> {
        r.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref()?.value.as_ref())
    }

    #[test]
    fn the_line_is_one_otlp_json_logs_request_with_the_review_fields() {
        let line = review("stale-policy", "quotes the 2023 refund policy").line();
        assert!(!line.contains('\n'));
        let req: ExportLogsServiceRequest = serde_json::from_str(&line).unwrap();
        let rl = &req.resource_logs[0];
        let service = &rl.resource.as_ref().unwrap().attributes[0];
        assert_eq!(service.key, "service.name");
        let r = &rl.scope_logs[0].log_records[0];
        assert_eq!(r.event_name, "gen_ai.evaluation.result");
        assert_eq!(r.trace_id, vec![0xab; 16]);
        assert_eq!(r.span_id, vec![0xcd; 8]);
        assert_eq!(r.time_unix_nano, 1_800_000_000_000_000_000);
        let text = |k| match attr(r, k) {
            Some(any_value::Value::StringValue(s)) => s.as_str(),
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(text("gen_ai.evaluation.name"), "Groundedness");
        assert_eq!(text("gen_ai.evaluation.score.label"), "stale-policy");
        assert_eq!(
            text("gen_ai.evaluation.explanation"),
            "quotes the 2023 refund policy"
        );
        assert_eq!(text("annotator_kind"), "HUMAN");
        assert_eq!(text("user.name"), "ada");
        assert_eq!(
            attr(r, "gen_ai.evaluation.score.value"),
            Some(&any_value::Value::DoubleValue(0.0))
        );
        // Ids are hex in OTLP/JSON, as every OTLP/JSON reader expects.
        assert!(line.contains(&"ab".repeat(16)), "{line}");
        assert!(line.contains(&"cd".repeat(8)), "{line}");
        // No label: pass/fail; no note: no explanation attribute.
        let plain = review("", " ");
        let req: ExportLogsServiceRequest = serde_json::from_str(&plain.line()).unwrap();
        let r = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(
            attr(r, "gen_ai.evaluation.score.label"),
            Some(&any_value::Value::StringValue("fail".into()))
        );
        assert!(attr(r, "gen_ai.evaluation.explanation").is_none());
    }

    #[test]
    fn reading_the_line_back_gives_the_same_human_verdict() {
        let r = review("stale-policy", "old policy");
        let mut conv = Converter::new(ConvertLimits::default(), Arc::default(), None);
        let (mut logs, mut verdicts) = (Vec::new(), Vec::new());
        conv.convert_logs(
            serde_json::from_str::<ExportLogsServiceRequest>(&r.line()).unwrap(),
            &mut logs,
            &mut verdicts,
        );
        assert_eq!(verdicts.len(), 1);
        let v = &verdicts[0];
        assert_eq!(v.source, VerdictSource::Human);
        assert_eq!(
            v.passed,
            Some(false),
            "a label that says nothing leaves the score to decide"
        );
        assert_eq!(v, &r.verdict());
        // A pass under an evaluator whose threshold runs the other way is still a pass.
        let mut pass = review("", "");
        pass.passed = true;
        pass.evaluator = "HallucinationScore".into();
        let mut rules = crate::semconv::SemconvConfig::default();
        rules.evaluators.by_name.insert(
            "hallucinationscore".into(),
            crate::semconv::verdicts::EvaluatorRule {
                threshold: 0.2,
                higher_is_better: false,
            },
        );
        let mut conv = Converter::new(ConvertLimits::default(), Arc::new(rules), None);
        verdicts.clear();
        conv.convert_logs(
            serde_json::from_str::<ExportLogsServiceRequest>(&pass.line()).unwrap(),
            &mut logs,
            &mut verdicts,
        );
        assert_eq!(verdicts[0].passed, Some(true));
    }

    #[test]
    fn the_file_appends_one_synced_line_per_review_and_creates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("reviews.jsonl");
        let f = file::ReviewsFile::new(&path);
        f.append(&review("a", "")).unwrap();
        f.append(&review("b", "")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
    }
}
