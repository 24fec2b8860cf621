//! The wrapper rule: libraries that trace every layer of a call (LlamaIndex's
//! `get_query_embedding` around `_get_query_embedding`, the Vercel AI SDK v7's outer
//! `embeddings {model}` operation) mark several nested spans as model calls for one request. A
//! model-call-looking span that has a model-call descendant for the same model and carries no
//! usage of its own is a wrapper: it keeps its kind for the tree, but is not counted in calls,
//! tokens, cost, latency or evaluated ([`Semantics::is_model_call`](super::Semantics::is_model_call)).
//!
//! A second shape of the same thing: LlamaIndex's `OpenAI._prepare_chat_with_tools` is an
//! OpenInference LLM span beside the call it prepares (same parent, same model) that carries no
//! request, no answer and no usage. Such a span next to a real call for the same model is a
//! wrapper too ([`prepares`]).
//!
//! Applied on each export request's spans as they are converted (a wrapper ends after its call,
//! so exporters send it in the same request or a later one), and by the store against the spans
//! a trace already holds (the later-request case).

use super::types::{Kind, Semantics};
use crate::model::ids::{SpanId, TraceId};
use crate::model::record::{SpanRecord, StatusCode};
use foldhash::HashMap;

/// Ancestors walked from one call at most: a deeper chain (or a cycle of bad parent ids) stops
/// there.
const MAX_DEPTH: usize = 64;

/// Whether two model names name the same model: equal ignoring ASCII case, or one the dated
/// snapshot of the other (`gpt-4o-mini` and `gpt-4o-mini-2024-07-18`).
pub fn same_model_name(a: &str, b: &str) -> bool {
    let snapshot_of = |long: &str, short: &str| {
        long.len() > short.len() + 1
            && long.is_char_boundary(short.len())
            && long[..short.len()].eq_ignore_ascii_case(short)
            && long.as_bytes()[short.len()] == b'-'
            && long[short.len() + 1..].starts_with(|c: char| c.is_ascii_digit())
    };
    a.eq_ignore_ascii_case(b) || snapshot_of(a, b) || snapshot_of(b, a)
}

/// Whether the calls described by `outer` and `inner` are for the same model (any of their
/// requested and answering names agree).
fn same_model(outer: &Semantics, inner: &Semantics) -> bool {
    let names = |s: &Semantics| [s.request_model.clone(), s.response_model.clone()];
    names(outer)
        .iter()
        .flatten()
        .any(|a| names(inner).iter().flatten().any(|b| same_model_name(a, b)))
}

/// A span that may be a wrapper: it looks like a model call and has no usage of its own.
fn may_wrap(sem: &Semantics) -> bool {
    sem.kind.is_model_call() && sem.usage.is_none() && !sem.wrapper
}

/// Whether `outer` wraps the call `inner` (a descendant of it).
pub fn wraps(outer: &Semantics, inner: &Semantics) -> bool {
    may_wrap(outer) && inner.kind.is_model_call() && same_model(outer, inner)
}

/// Whether `span` records a request or an answer (messages in any convention, or input text).
fn has_messages(span: &SpanRecord) -> bool {
    span.attributes.iter().any(|a| {
        let k = &*a.key;
        k.starts_with("llm.input_messages.")
            || k.starts_with("llm.output_messages.")
            || k.starts_with("gen_ai.input.messages")
            || k.starts_with("gen_ai.output.messages")
            || k.starts_with("gen_ai.prompt.")
            || k.starts_with("gen_ai.completion.")
            || k.starts_with("llm.prompts")
    })
}

/// Whether `prep` is an OpenInference LLM span that only prepares `call`, a sibling real call
/// for the same model: `prep` has no usage, no messages and no error; `call` has usage or
/// messages.
pub fn prepares(prep: &SpanRecord, call: &SpanRecord) -> bool {
    let (Some(p), Some(c)) = (prep.sem.as_deref(), call.sem.as_deref()) else {
        return false;
    };
    prep.span_id != call.span_id
        && prep.parent_span_id.is_some()
        && prep.parent_span_id == call.parent_span_id
        && prep.status != StatusCode::Error
        && p.kind == Kind::Llm
        && may_wrap(p)
        && c.kind.is_model_call()
        && (c.usage.is_some() || has_messages(call))
        && prep
            .attributes
            .iter()
            .any(|a| &*a.key == "openinference.span.kind")
        && !has_messages(prep)
        && same_model(p, c)
}

/// Marks the wrappers among `spans` (one export request's, any traces): every usage-less
/// model-call span with a model-call descendant for the same model in `spans`.
pub fn mark_wrappers(spans: &mut [SpanRecord]) {
    if !spans.iter().any(|s| s.sem.as_deref().is_some_and(may_wrap)) {
        return;
    }
    let by_id: HashMap<(TraceId, SpanId), usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id, s.span_id), i))
        .collect();
    let mut marks = Vec::new();
    for (i, call) in spans.iter().enumerate() {
        let Some(inner) = call.sem.as_deref().filter(|m| m.kind.is_model_call()) else {
            continue;
        };
        let mut parent = call.parent_span_id;
        for _ in 0..MAX_DEPTH {
            let Some(&j) = parent.and_then(|p| by_id.get(&(call.trace_id, p))) else {
                break;
            };
            if j == i {
                break;
            }
            if spans[j].sem.as_deref().is_some_and(|outer| wraps(outer, inner)) {
                marks.push(j);
            }
            parent = spans[j].parent_span_id;
        }
    }
    // Preparation steps beside their call: model calls grouped by parent, so a large request
    // costs one pass and a lookup per candidate.
    let mut by_parent: HashMap<(TraceId, SpanId), Vec<usize>> = HashMap::default();
    for (i, s) in spans.iter().enumerate() {
        if let (Some(p), Some(true)) = (s.parent_span_id, s.sem.as_deref().map(|m| m.kind.is_model_call())) {
            by_parent.entry((s.trace_id, p)).or_default().push(i);
        }
    }
    for (i, prep) in spans.iter().enumerate() {
        let Some(p) = prep
            .parent_span_id
            .filter(|_| prep.sem.as_deref().is_some_and(may_wrap))
        else {
            continue;
        };
        let siblings = by_parent.get(&(prep.trace_id, p)).map_or(&[][..], Vec::as_slice);
        if siblings.iter().any(|&j| prepares(prep, &spans[j])) {
            marks.push(i);
        }
    }
    for j in marks {
        if let Some(sem) = spans[j].sem.as_deref_mut() {
            sem.wrapper = true;
        }
    }
}

/// Whether `span` (not yet filed) wraps a call among `held`, the spans its trace already holds.
/// `parent_of` finds a held span by id.
pub fn wraps_held<'a>(
    span: &SpanRecord,
    held: &'a [SpanRecord],
    parent_of: impl Fn(SpanId) -> Option<&'a SpanRecord>,
) -> bool {
    let Some(outer) = span.sem.as_deref().filter(|m| may_wrap(m)) else {
        return false;
    };
    if held.iter().any(|call| prepares(span, call)) {
        return true;
    }
    held.iter().any(|call| {
        let Some(inner) = call.sem.as_deref().filter(|m| m.kind.is_model_call()) else {
            return false;
        };
        if !same_model(outer, inner) {
            return false;
        }
        let mut parent = call.parent_span_id;
        for _ in 0..MAX_DEPTH {
            match parent {
                Some(p) if p == span.span_id => return true,
                Some(p) => parent = parent_of(p).and_then(|s| s.parent_span_id),
                None => return false,
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semconv::{Kind, TokenUsage};
    use std::sync::Arc;

    fn span(id: u8, parent: Option<u8>, kind: Kind, model: &str, tokens: Option<u64>) -> SpanRecord {
        let mut s = crate::store::test_support::span(1, id, parent, 0);
        s.sem = Some(Box::new(Semantics {
            kind,
            request_model: (!model.is_empty()).then(|| Arc::from(model)),
            usage: tokens.map(|t| TokenUsage {
                input: t,
                total: t,
                ..TokenUsage::default()
            }),
            ..Semantics::default()
        }));
        s
    }

    fn wrapper(s: &SpanRecord) -> bool {
        s.sem.as_deref().is_some_and(|m| m.wrapper)
    }

    #[test]
    fn an_outer_call_without_usage_around_the_same_model_is_a_wrapper() {
        // get_query_embedding -> _get_query_embedding (LlamaIndex): neither has tokens.
        let mut spans = vec![
            span(1, None, Kind::Chain, "", None),
            span(2, Some(1), Kind::Embedding, "text-embedding-3-small", None),
            span(3, Some(2), Kind::Embedding, "text-embedding-3-small", None),
        ];
        mark_wrappers(&mut spans);
        assert_eq!(
            spans.iter().map(wrapper).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert!(!spans[1].sem.as_deref().unwrap().is_model_call());
        assert_eq!(
            spans[1].sem.as_deref().unwrap().kind,
            Kind::Embedding,
            "keeps its kind"
        );
        assert!(spans[2].sem.as_deref().unwrap().is_model_call());
    }

    #[test]
    fn usage_of_its_own_another_model_or_no_descendant_keep_a_call_counted() {
        let mut spans = vec![
            // Has usage: a call (an agent loop that reports the sum is not ours to drop).
            span(1, None, Kind::Llm, "gpt-4o-mini", Some(10)),
            span(2, Some(1), Kind::Llm, "gpt-4o-mini-2024-07-18", Some(10)),
            // Another model under it: a router calling a cheaper model, both count.
            span(3, None, Kind::Llm, "gpt-4o", None),
            span(4, Some(3), Kind::Llm, "gpt-4o-mini", Some(5)),
            // No descendant at all (a failed call has no usage): counted.
            span(5, None, Kind::Llm, "gpt-4o-mini", None),
        ];
        mark_wrappers(&mut spans);
        assert!(spans.iter().all(|s| !wrapper(s)));
    }

    #[test]
    fn a_request_less_preparation_step_beside_its_call_is_a_wrapper() {
        let oi = |mut s: SpanRecord| {
            s.attributes = Box::new([crate::model::Attr {
                key: Arc::from("openinference.span.kind"),
                value: crate::model::Value::Str("LLM".into()),
            }]);
            s
        };
        // OpenAI._prepare_chat_with_tools, then OpenAI.chat (LlamaIndex), then a failed chat.
        let mut spans = vec![
            span(1, None, Kind::Chain, "", None),
            oi(span(2, Some(1), Kind::Llm, "gpt-4o-mini", None)),
            oi(span(3, Some(1), Kind::Llm, "gpt-4o-mini", Some(47))),
        ];
        mark_wrappers(&mut spans);
        assert_eq!(
            spans.iter().map(wrapper).collect::<Vec<_>>(),
            [false, true, false]
        );
        // Without the real call beside it, a usage-less call (a failure) still counts.
        let mut alone = vec![
            span(1, None, Kind::Chain, "", None),
            oi(span(2, Some(1), Kind::Llm, "gpt-4o-mini", None)),
        ];
        mark_wrappers(&mut alone);
        assert!(!wrapper(&alone[1]));
    }

    #[test]
    fn the_snapshot_name_matches_the_requested_one() {
        assert!(same_model_name("gpt-4o-mini", "gpt-4o-mini-2024-07-18"));
        assert!(same_model_name("GPT-4o-mini-2024-07-18", "gpt-4o-mini"));
        assert!(!same_model_name("gpt-4o", "gpt-4o-mini"));
        assert!(!same_model_name("gpt-4o", "gpt-4o-mini-2024-07-18"));
    }

    #[test]
    fn a_wrapper_arriving_after_its_call_is_found_among_the_held_spans() {
        let held = vec![
            span(1, None, Kind::Chain, "", None),
            span(3, Some(2), Kind::Embedding, "text-embedding-3-small", Some(8)),
        ];
        let late = span(2, Some(1), Kind::Embedding, "text-embedding-3-small", None);
        let find = |id: SpanId| held.iter().find(|s| s.span_id == id);
        assert!(wraps_held(&late, &held, find));
        let other = span(4, Some(1), Kind::Embedding, "text-embedding-3-small", None);
        assert!(!wraps_held(&other, &held, find));
    }
}
