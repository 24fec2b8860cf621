//! Verdict extraction helpers shared by span and log conversion, and the pass/fail rule: the
//! label decides when it says pass or fail; otherwise the evaluator's threshold on the score
//! (default: a score of 0.5 or more passes; direction configurable per evaluator).

pub use super::types::is_feedback_name;
use super::types::{Verdict, VerdictSource};
use super::value::{as_f64, as_text};
use crate::intern::Sym;
use crate::model::ids::{SpanId, TraceId};
use crate::model::record::{Attr, Value, find_attr};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Pass/fail threshold for one evaluator.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorRule {
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// True when higher scores are better (Groundedness); false for HallucinationScore-like
    /// evaluators where lower is better.
    #[serde(default = "default_higher_is_better")]
    pub higher_is_better: bool,
}

fn default_threshold() -> f64 {
    0.5
}

fn default_higher_is_better() -> bool {
    true
}

impl Default for EvaluatorRule {
    fn default() -> Self {
        Self {
            threshold: default_threshold(),
            higher_is_better: default_higher_is_better(),
        }
    }
}

impl EvaluatorRule {
    pub fn passes(&self, score: f64) -> bool {
        if self.higher_is_better {
            score >= self.threshold
        } else {
            score <= self.threshold
        }
    }
}

/// Rules by evaluator name (matched case-insensitively), with a default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvaluatorRules {
    pub default: EvaluatorRule,
    /// Keys lowercased.
    pub by_name: BTreeMap<String, EvaluatorRule>,
}

impl EvaluatorRules {
    pub fn rule(&self, name: &str) -> EvaluatorRule {
        if self.by_name.is_empty() {
            return self.default;
        }
        self.by_name
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or(self.default)
    }

    /// Passed from the label when it is decisive, else from the score.
    pub fn passed(&self, name: &str, score: Option<f64>, label: Option<&str>) -> Option<bool> {
        label
            .and_then(label_verdict)
            .or_else(|| score.map(|s| self.rule(name).passes(s)))
    }
}

/// What a label says about pass/fail, when it says anything.
pub fn label_verdict(label: &str) -> Option<bool> {
    let l = label.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match l.as_str() {
        "pass" | "passed" | "true" | "yes" | "correct" | "grounded" | "relevant" | "faithful" | "good"
        | "ok" | "success" | "factual" | "safe" | "not_hallucinated" | "accurate" => Some(true),
        // End-user feedback shapes (thumbs, up/down, sentiment).
        "thumbs_up" | "thumbsup" | "up" | "positive" | "\u{1f44d}" => Some(true),
        "fail" | "failed" | "false" | "no" | "incorrect" | "ungrounded" | "not_grounded" | "irrelevant"
        | "unfaithful" | "bad" | "hallucinated" | "hallucination" | "toxic" | "unsafe" | "error"
        | "inaccurate" => Some(false),
        "thumbs_down" | "thumbsdown" | "down" | "negative" | "\u{1f44e}" => Some(false),
        _ => None,
    }
}

/// Whether a label is the shape only a person gives (a thumb).
fn is_thumb_label(label: &str) -> bool {
    let l = label.trim().to_ascii_lowercase();
    l.starts_with("thumb") || l == "\u{1f44d}" || l == "\u{1f44e}"
}

/// Whether an annotator kind names a person (OpenInference `HUMAN`, any case).
pub fn is_human_kind(kind: &str) -> bool {
    kind.trim().eq_ignore_ascii_case("human")
}

/// A score from an int, double, bool (true = 1.0) or string (numbers, "pass"/"fail" too).
pub fn score_of(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => as_f64(v).or_else(|| label_verdict(as_text(v)?).map(|p| if p { 1.0 } else { 0.0 })),
    }
}

/// The fields of a verdict before its target is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerdictFields {
    pub name: Option<Sym>,
    pub score: Option<f64>,
    pub label: Option<Sym>,
    pub explanation: Option<Box<str>>,
    pub target: Option<SpanId>,
    pub response_id: Option<Box<str>>,
    /// The annotator kind when given: `Some(true)` for HUMAN, `Some(false)` for LLM/CODE.
    pub human: Option<bool>,
    /// `user.name` of the person who gave it.
    pub reviewer: Option<Box<str>>,
}

impl VerdictFields {
    /// Reads `gen_ai.evaluation.*` attributes (event, log record or evaluator span).
    pub fn from_otel_attrs(attrs: &[Attr], intern: &mut dyn FnMut(&str) -> Sym) -> Self {
        let text = |k: &str| find_attr(attrs, k).and_then(as_text);
        Self {
            name: text("gen_ai.evaluation.name").map(&mut *intern),
            score: find_attr(attrs, "gen_ai.evaluation.score.value").and_then(score_of),
            label: text("gen_ai.evaluation.score.label").map(&mut *intern),
            explanation: text("gen_ai.evaluation.explanation").map(Into::into),
            target: text("gen_ai.evaluation.target_span_id").and_then(parse_span_id),
            response_id: text("gen_ai.response.id").map(Into::into),
            human: text("annotator_kind")
                .or_else(|| text("gen_ai.evaluation.annotator_kind"))
                .map(is_human_kind),
            reviewer: text("user.name").map(Into::into),
        }
    }

    /// Whether this is a person's verdict: the annotator kind says HUMAN, or (when no kind is
    /// given) it has the shape of end-user feedback (a feedback name or a thumb label).
    fn is_human(&self, name: &str) -> bool {
        self.human
            .unwrap_or_else(|| is_feedback_name(name) || self.label.as_deref().is_some_and(is_thumb_label))
    }

    pub fn into_verdict(
        self,
        trace_id: impl Into<Option<TraceId>>,
        fallback_target: Option<SpanId>,
        source: VerdictSource,
        time_unix_nano: u64,
        rules: &EvaluatorRules,
    ) -> Option<Verdict> {
        let human = self.name.as_deref().is_some_and(|n| self.is_human(n));
        let name = self.name?;
        if self.score.is_none() && self.label.is_none() {
            return None;
        }
        let passed = if human && self.label.as_deref().and_then(label_verdict).is_none() {
            // A person's score is 1 (pass) or 0 (fail) whatever direction the evaluator's own
            // threshold runs (a review label like `stale-policy` says nothing about pass/fail).
            self.score.map(|s| s >= 0.5)
        } else {
            rules.passed(&name, self.score, self.label.as_deref())
        };
        let source = if human { VerdictSource::Human } else { source };
        Some(Verdict {
            trace_id: trace_id.into(),
            target: self.target.or(fallback_target),
            response_id: self.response_id,
            name,
            score: self.score,
            label: self.label,
            explanation: self.explanation,
            passed,
            source,
            time_unix_nano,
            reviewer: if human { self.reviewer } else { None },
        })
    }
}

/// A span id written as 16 hex digits (how target ids travel in attributes).
pub fn parse_span_id(s: &str) -> Option<SpanId> {
    let s = s.trim().trim_start_matches("0x");
    if s.len() != 16 {
        return None;
    }
    let mut out = [0u8; 8];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    SpanId::from_bytes(&out).ok()
}

/// Groups OpenInference `annotations.N.annotation.F` / `evaluations.N.evaluation.F` attributes
/// (also under `trace.`, and `trace.annotations.N.F`) by N into verdict fields; `annotator_kind`
/// HUMAN makes it a person's verdict, `user.name` its reviewer.
pub fn annotations(
    attrs: &[Attr],
    keys: &[usize],
    intern: &mut dyn FnMut(&str) -> Sym,
) -> Vec<VerdictFields> {
    // Keyed by (shape, N): 0 annotations, 1 evaluations, 2 trace annotations.
    let mut groups: BTreeMap<(u8, u32), VerdictFields> = BTreeMap::new();
    for &i in keys {
        let a = &attrs[i];
        let Some((shape, n, field)) = annotation_key(&a.key) else {
            continue;
        };
        let g = groups.entry((shape, n)).or_default();
        match field {
            "name" => g.name = as_text(&a.value).map(&mut *intern),
            "score" => g.score = score_of(&a.value),
            "label" => g.label = as_text(&a.value).map(&mut *intern),
            "explanation" => g.explanation = as_text(&a.value).map(Into::into),
            "annotator_kind" => g.human = as_text(&a.value).map(is_human_kind),
            "user.name" => g.reviewer = as_text(&a.value).map(Into::into),
            _ => {}
        }
    }
    groups.into_values().collect()
}

/// (shape, N, field) of an annotation key; `None` for anything else.
fn annotation_key(key: &str) -> Option<(u8, u32, &str)> {
    let (trace, key) = match key.strip_prefix("trace.") {
        Some(rest) => (true, rest),
        None => (false, key),
    };
    let (head, rest) = key.split_once('.')?;
    let (n, rest) = rest.split_once('.')?;
    let n = n.parse::<u32>().ok()?;
    let (shape, mid) = match (head, trace) {
        ("annotations", false) => (0, "annotation."),
        ("evaluations", false) => (1, "evaluation."),
        ("annotations", true) => (2, "annotation."),
        _ => return None,
    };
    match rest.strip_prefix(mid) {
        Some(field) => Some((shape, n, field)),
        // `trace.annotations.N.F` without the inner segment.
        None if trace => Some((shape, n, rest)),
        None => None,
    }
}

/// FutureAGI's legacy keys on the evaluated span: `eval.{metric}` (score) and
/// `eval.{metric}.reason`.
pub fn legacy_evals(
    attrs: &[Attr],
    keys: &[usize],
    intern: &mut dyn FnMut(&str) -> Sym,
) -> Vec<VerdictFields> {
    let mut by_metric: BTreeMap<&str, VerdictFields> = BTreeMap::new();
    for &i in keys {
        let a = &attrs[i];
        let Some(rest) = a.key.strip_prefix("eval.") else {
            continue;
        };
        if rest.ends_with(".latency_ms") {
            continue;
        }
        if let Some(metric) = rest.strip_suffix(".reason") {
            by_metric.entry(metric).or_default().explanation = as_text(&a.value).map(Into::into);
        } else {
            let g = by_metric.entry(rest).or_default();
            g.score = score_of(&a.value);
            if let Some(label) = as_text(&a.value).filter(|l| label_verdict(l).is_some()) {
                g.label = Some(intern(label));
            }
        }
    }
    by_metric
        .into_iter()
        .filter(|(metric, _)| !metric.is_empty())
        .map(|(metric, mut f)| {
            f.name = Some(intern(metric));
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn attr(k: &str, v: Value) -> Attr {
        Attr {
            key: Arc::from(k),
            value: v,
        }
    }

    fn intern(s: &str) -> Sym {
        Arc::from(s)
    }

    #[test]
    fn labels_decide_before_scores() {
        let rules = EvaluatorRules::default();
        assert_eq!(rules.passed("Groundedness", Some(0.9), Some("fail")), Some(false));
        assert_eq!(rules.passed("Groundedness", Some(0.62), None), Some(true));
        assert_eq!(
            rules.passed("Groundedness", Some(0.49), Some("medium")),
            Some(false)
        );
        assert_eq!(rules.passed("Groundedness", None, Some("somewhat")), None);
    }

    #[test]
    fn per_evaluator_thresholds_and_direction() {
        let mut rules = EvaluatorRules::default();
        rules.by_name.insert(
            "hallucinationscore".into(),
            EvaluatorRule {
                threshold: 0.2,
                higher_is_better: false,
            },
        );
        assert_eq!(rules.passed("HallucinationScore", Some(0.05), None), Some(true));
        assert_eq!(rules.passed("HallucinationScore", Some(0.3), None), Some(false));
        assert_eq!(rules.passed("Groundedness", Some(0.5), None), Some(true));
    }

    #[test]
    fn scores_arrive_as_anything() {
        assert_eq!(score_of(&Value::Bool(true)), Some(1.0));
        assert_eq!(score_of(&Value::Str("0.75".into())), Some(0.75));
        assert_eq!(score_of(&Value::Str("FAIL".into())), Some(0.0));
        assert_eq!(score_of(&Value::Int(1)), Some(1.0));
        assert_eq!(score_of(&Value::Str("meh".into())), None);
    }

    #[test]
    fn openinference_annotations_group_by_index() {
        let attrs = vec![
            attr("annotations.0.annotation.name", Value::Str("Groundedness".into())),
            attr("annotations.0.annotation.score", Value::Double(0.62)),
            attr("annotations.1.annotation.name", Value::Str("Toxicity".into())),
            attr("annotations.1.annotation.label", Value::Str("safe".into())),
            attr(
                "annotations.0.annotation.explanation",
                Value::Str("mostly supported".into()),
            ),
            attr("evaluations.0.evaluation.name", Value::Str("QA".into())),
            attr("evaluations.0.evaluation.score", Value::Str("1".into())),
            attr("annotations.x.annotation.name", Value::Str("bad index".into())),
        ];
        let keys: Vec<usize> = (0..attrs.len()).collect();
        let got = annotations(&attrs, &keys, &mut intern);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].name.as_deref(), Some("Groundedness"));
        assert_eq!(got[0].score, Some(0.62));
        assert_eq!(got[0].explanation.as_deref(), Some("mostly supported"));
        assert_eq!(got[1].label.as_deref(), Some("safe"));
        assert_eq!((got[2].name.as_deref(), got[2].score), (Some("QA"), Some(1.0)));
    }

    #[test]
    fn legacy_eval_keys() {
        let attrs = vec![
            attr("eval.groundedness", Value::Double(0.4)),
            attr(
                "eval.groundedness.reason",
                Value::Str("claims not in context".into()),
            ),
            attr("eval.groundedness.latency_ms", Value::Int(120)),
            attr("eval.toxicity", Value::Str("Passed".into())),
        ];
        let keys: Vec<usize> = (0..attrs.len()).collect();
        let got = legacy_evals(&attrs, &keys, &mut intern);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name.as_deref(), Some("groundedness"));
        assert_eq!(got[0].explanation.as_deref(), Some("claims not in context"));
        assert_eq!(
            (got[1].score, got[1].label.as_deref()),
            (Some(1.0), Some("Passed"))
        );
    }

    fn human_of(f: VerdictFields) -> Option<Verdict> {
        f.into_verdict(
            Some(TraceId([1; 16])),
            Some(SpanId([2; 8])),
            VerdictSource::LogRecord,
            0,
            &EvaluatorRules::default(),
        )
    }

    #[test]
    fn human_annotator_kind_on_evaluation_records_any_case() {
        let attrs = vec![
            attr("gen_ai.evaluation.name", Value::Str("Groundedness".into())),
            attr("gen_ai.evaluation.score.label", Value::Str("stale-policy".into())),
            attr("gen_ai.evaluation.score.value", Value::Double(0.0)),
            attr(
                "gen_ai.evaluation.explanation",
                Value::Str("old refund rule".into()),
            ),
            attr("annotator_kind", Value::Str("human".into())),
            attr("user.name", Value::Str("alice".into())),
        ];
        let v = human_of(VerdictFields::from_otel_attrs(&attrs, &mut intern)).unwrap();
        assert_eq!(v.source, VerdictSource::Human);
        assert_eq!(v.passed, Some(false));
        assert_eq!(v.reviewer.as_deref(), Some("alice"));
        // An LLM annotator under a feedback-like name stays automatic; its user.name is dropped.
        let mut llm = attrs.clone();
        llm[4] = attr("annotator_kind", Value::Str("LLM".into()));
        let v = human_of(VerdictFields::from_otel_attrs(&llm, &mut intern)).unwrap();
        assert_eq!((v.source, v.reviewer), (VerdictSource::LogRecord, None));
    }

    #[test]
    fn human_openinference_and_trace_annotations() {
        let attrs = vec![
            attr("annotations.0.annotation.name", Value::Str("QA".into())),
            attr("annotations.0.annotation.label", Value::Str("correct".into())),
            attr(
                "annotations.0.annotation.annotator_kind",
                Value::Str("HUMAN".into()),
            ),
            attr("annotations.1.annotation.name", Value::Str("QA".into())),
            attr("annotations.1.annotation.score", Value::Double(0.2)),
            attr(
                "annotations.1.annotation.annotator_kind",
                Value::Str("LLM".into()),
            ),
            attr("evaluations.0.evaluation.name", Value::Str("Tone".into())),
            attr("evaluations.0.evaluation.label", Value::Str("bad".into())),
            attr(
                "evaluations.0.evaluation.annotator_kind",
                Value::Str("Human".into()),
            ),
            attr("evaluations.0.evaluation.user.name", Value::Str("bob".into())),
            attr("trace.annotations.0.name", Value::Str("helpful".into())),
            attr("trace.annotations.0.label", Value::Str("no".into())),
            attr("trace.annotations.0.annotator_kind", Value::Str("HUMAN".into())),
        ];
        let keys: Vec<usize> = (0..attrs.len()).collect();
        let got: Vec<Verdict> = annotations(&attrs, &keys, &mut intern)
            .into_iter()
            .filter_map(human_of)
            .collect();
        let shape: Vec<_> = got
            .iter()
            .map(|v| (&*v.name, v.is_human(), v.passed, v.reviewer.as_deref()))
            .collect();
        assert_eq!(
            shape,
            [
                ("QA", true, Some(true), None),
                ("QA", false, Some(false), None),
                ("Tone", true, Some(false), Some("bob")),
                ("helpful", true, Some(false), None),
            ]
        );
        assert_eq!(
            crate::semconv::keys::classify("trace.annotations.0.annotation.name"),
            crate::semconv::keys::Class::Annotation
        );
    }

    #[test]
    fn feedback_shapes_are_human() {
        let f = |name: &str, label: &str| VerdictFields {
            name: Some(intern(name)),
            label: Some(intern(label)),
            ..Default::default()
        };
        for (name, label, passed) in [
            ("user_feedback", "thumbs_up", true),
            ("thumbs", "down", false),
            ("feedback", "negative", false),
            ("rating", "thumbs down", false),
            ("user-rating", "positive", true),
        ] {
            let v = human_of(f(name, label)).unwrap();
            assert_eq!((v.is_human(), v.passed), (true, Some(passed)), "{name} {label}");
        }
        assert!(human_of(f("feedback", "down")).unwrap().is_thumbs_down());
        // Not a feedback shape: stays what it arrived as.
        assert!(!human_of(f("Groundedness", "up")).unwrap().is_human());
    }

    #[test]
    fn span_ids_parse_from_hex() {
        assert_eq!(
            parse_span_id("00f067aa0ba902b7"),
            Some(SpanId([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]))
        );
        assert_eq!(parse_span_id("xyz"), None);
        assert_eq!(parse_span_id("0000000000000000"), None);
    }
}
