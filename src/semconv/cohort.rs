//! Cohorts: the dimensions traffic is grouped by (route, tenant, model, ...). A span's value for
//! a cohort comes from its normalised semantics; route, tenant, prompt version, session and user
//! are inherited from the trace's root span when the span lacks them.

use crate::model::record::SpanRecord;
use crate::store::trace::Trace;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CohortKey {
    Route,
    Tenant,
    PromptVersion,
    Session,
    User,
    Service,
    Provider,
    Model,
    Streaming,
}

impl CohortKey {
    pub const ALL: [CohortKey; 9] = [
        Self::Route,
        Self::Tenant,
        Self::PromptVersion,
        Self::Session,
        Self::User,
        Self::Service,
        Self::Provider,
        Self::Model,
        Self::Streaming,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Tenant => "tenant",
            Self::PromptVersion => "prompt_version",
            Self::Session => "session",
            Self::User => "user",
            Self::Service => "service",
            Self::Provider => "provider",
            Self::Model => "model",
            Self::Streaming => "streaming",
        }
    }

    /// Whether a child span without its own value takes the root span's.
    pub fn inherits(self) -> bool {
        matches!(
            self,
            Self::Route | Self::Tenant | Self::PromptVersion | Self::Session | Self::User
        )
    }

    fn own(self, span: &SpanRecord) -> Option<Cow<'_, str>> {
        if self == Self::Service {
            return Some(Cow::Borrowed(span.service()));
        }
        let sem = span.sem.as_deref()?;
        let s = match self {
            Self::Route => sem.route.as_deref(),
            Self::Tenant => sem.tenant.as_deref(),
            Self::PromptVersion => sem.prompt_version.as_deref(),
            Self::Session => sem.session.as_deref(),
            Self::User => sem.user.as_deref(),
            Self::Provider => sem.provider.as_deref(),
            Self::Model => sem.model().map(|m| &**m),
            Self::Streaming => {
                return sem
                    .streaming
                    .map(|b| Cow::Borrowed(if b { "streaming" } else { "non-streaming" }));
            }
            Self::Service => unreachable!("handled above"),
        };
        s.map(Cow::Borrowed)
    }

    /// Precedence rank (0 best) of the key the span's own value came from.
    fn rank(self, span: &SpanRecord) -> u8 {
        let Some(sem) = span.sem.as_deref() else {
            return u8::MAX;
        };
        match self {
            Self::Route => sem.ranks.route,
            Self::Tenant => sem.ranks.tenant,
            Self::PromptVersion => sem.ranks.prompt_version,
            Self::Session => sem.ranks.session,
            _ => 0,
        }
    }

    /// The span's value for this cohort, inherited from the trace root where that applies.
    ///
    /// Own attribute against the root's, per key: a span without a value takes the root's; a
    /// span with one keeps it unless the root's came from a better-ranked key of the same list
    /// (the root's `app.route` beats a call's own `gen_ai.agent.name`, the root's `session.id`
    /// a call's per-run `gen_ai.conversation.id`). User inherits only when missing.
    pub fn value<'a>(self, trace: &'a Trace, span: &'a SpanRecord) -> Option<Cow<'a, str>> {
        let own = self.own(span);
        if !self.inherits() {
            return own;
        }
        let Some(root) = trace.root().filter(|r| r.span_id != span.span_id) else {
            return own;
        };
        match own {
            None => self.own(root),
            Some(v) => {
                if self.rank(root) < self.rank(span)
                    && let Some(r) = self.own(root)
                {
                    Some(r)
                } else {
                    Some(v)
                }
            }
        }
    }
}

impl fmt::Display for CohortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CohortKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown cohort {s:?} (one of {})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Converter;
    use crate::store::{StoreLimits, TraceStore};

    #[test]
    fn names_round_trip_and_unknown_names_say_what_is_allowed() {
        for k in CohortKey::ALL {
            assert_eq!(k.as_str().parse::<CohortKey>(), Ok(k));
        }
        assert_eq!(
            "Prompt-Version".parse::<CohortKey>(),
            Ok(CohortKey::PromptVersion)
        );
        assert!(
            "colour"
                .parse::<CohortKey>()
                .unwrap_err()
                .contains("one of route, tenant")
        );
    }

    #[test]
    fn children_inherit_route_but_not_model_from_the_root() {
        let line = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/otel_genai.jsonl"
        ))
        .unwrap();
        let req: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest =
            serde_json::from_str(line.lines().next().unwrap()).unwrap();
        let mut spans = Vec::new();
        Converter::default().convert_traces(req, &mut spans, &mut Vec::new());
        let mut store = TraceStore::new(StoreLimits::default());
        store.insert_spans(spans);
        let trace = store
            .traces_newest_first()
            .find(|t| t.spans.len() == 6)
            .expect("the 6-span trace");
        let chat = trace
            .spans
            .iter()
            .find(|s| &*s.name == "chat gpt-4o-mini")
            .unwrap();
        let root = trace.root().unwrap();
        assert_eq!(
            CohortKey::Route.value(trace, chat).as_deref(),
            Some("/support/order-status")
        );
        assert_eq!(CohortKey::Tenant.value(trace, chat).as_deref(), Some("acme-corp"));
        assert_eq!(
            CohortKey::Model.value(trace, chat).as_deref(),
            Some("gpt-4o-mini")
        );
        assert_eq!(CohortKey::Model.value(trace, root), None);
        assert_eq!(
            CohortKey::Service.value(trace, chat).as_deref(),
            Some("llm-harness-otel_genai")
        );
        assert_eq!(CohortKey::Provider.value(trace, chat).as_deref(), Some("openai"));
    }

    #[test]
    fn the_roots_better_ranked_key_wins_over_the_spans_own() {
        use crate::semconv::{CohortRanks, Semantics};
        use crate::store::test_support::span;
        let with = |mut s: SpanRecord, route: &str, route_rank: u8, session: &str, session_rank: u8| {
            s.sem = Some(Box::new(Semantics {
                route: Some(route.into()),
                session: Some(session.into()),
                ranks: CohortRanks {
                    route: route_rank,
                    session: session_rank,
                    ..CohortRanks::default()
                },
                ..Semantics::default()
            }));
            s
        };
        let mut store = TraceStore::new(StoreLimits::default());
        // Root: app.route (rank 0), session.id (rank 0). Call: gen_ai.agent.name (rank 3) and a
        // per-run gen_ai.conversation.id (rank 2), as Pydantic AI sends them.
        let root = with(span(1, 1, None, 0), "/support", 0, "sess-1", 0);
        let call = with(span(1, 2, Some(1), 0), "support_agent", 3, "run-7", 2);
        // Another call whose own route is as good as the root's keeps it.
        let own = with(span(1, 3, Some(1), 0), "/own", 0, "sess-own", 0);
        store.insert_spans([root, call, own]);
        let trace = store.traces_newest_first().next().unwrap();
        let by_id = |id: u8| trace.spans.iter().find(|s| s.span_id.0[0] == id).unwrap();
        assert_eq!(
            CohortKey::Route.value(trace, by_id(2)).as_deref(),
            Some("/support")
        );
        assert_eq!(
            CohortKey::Session.value(trace, by_id(2)).as_deref(),
            Some("sess-1")
        );
        assert_eq!(CohortKey::Route.value(trace, by_id(3)).as_deref(), Some("/own"));
        assert_eq!(
            CohortKey::Session.value(trace, by_id(3)).as_deref(),
            Some("sess-own")
        );
        assert_eq!(
            CohortKey::Route.value(trace, by_id(1)).as_deref(),
            Some("/support")
        );
    }
}
