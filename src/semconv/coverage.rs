//! Trace coverage: whether a model call carries what an incident needs to be sliced. A call is
//! covered when it sits inside a trace (it has a parent span), names its model, and has a
//! prompt version and a route (its own or inherited from the trace root). The dashboard shows
//! the share of covered calls, and the `coverage` alert metric reads it.

use super::cohort::CohortKey;
use crate::model::record::SpanRecord;
use crate::store::Trace;

/// What one model call carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub parent: bool,
    pub model: bool,
    pub prompt_version: bool,
    pub route: bool,
}

impl Coverage {
    /// The coverage of `span` in `trace`; `None` when the span is not a model call.
    pub fn of(trace: &Trace, span: &SpanRecord) -> Option<Self> {
        let sem = span.sem.as_deref()?;
        if !sem.is_model_call() {
            return None;
        }
        Some(Self {
            parent: span.parent_span_id.is_some(),
            model: sem.model().is_some(),
            prompt_version: CohortKey::PromptVersion.value(trace, span).is_some(),
            route: CohortKey::Route.value(trace, span).is_some(),
        })
    }

    /// Whether every part is present.
    pub fn complete(&self) -> bool {
        self.parent && self.model && self.prompt_version && self.route
    }

    /// The parts, named as the dashboard shows what is missing.
    pub fn parts(&self) -> [(&'static str, bool); 4] {
        [
            ("parent", self.parent),
            ("model", self.model),
            ("prompt version", self.prompt_version),
            ("route", self.route),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Converter;
    use crate::store::{StoreLimits, TraceStore};

    fn store_of(fixture: &str) -> TraceStore {
        let text =
            std::fs::read_to_string(format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let mut store = TraceStore::new(StoreLimits::default());
        let mut conv = Converter::default();
        for line in text.lines().filter(|l| l.contains("resourceSpans")) {
            let mut spans = Vec::new();
            conv.convert_traces(
                serde_json::from_str::<
                    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
                >(line)
                .unwrap(),
                &mut spans,
                &mut Vec::new(),
            );
            store.insert_spans(spans);
        }
        store
    }

    #[test]
    fn a_call_with_route_from_its_root_but_no_prompt_version_is_not_complete() {
        let store = store_of("otel_genai.jsonl");
        let trace = store.traces_newest_first().find(|t| t.spans.len() == 6).unwrap();
        let chat = trace
            .spans
            .iter()
            .find(|s| &*s.name == "chat gpt-4o-mini")
            .unwrap();
        let c = Coverage::of(trace, chat).unwrap();
        assert!(c.parent && c.model && c.route, "{c:?}");
        assert_eq!(c.complete(), c.prompt_version);
        assert_eq!(
            Coverage::of(trace, trace.root().unwrap()),
            None,
            "the root is no model call"
        );
    }
}
