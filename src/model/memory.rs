//! Honest estimates of the bytes a record holds: the inline struct, every heap allocation it
//! owns (rounded and with allocator headers, as malloc sees them), and its share of what it
//! shares. Interned strings are counted once, by the interner.

use crate::intern::{alloc_size, sym_heap_size};
use crate::model::record::{Attr, LogRecord, Resource, SpanEvent, SpanLink, SpanRecord, Value};
use crate::semconv::types::Semantics;

fn slice_heap<T>(len: usize) -> usize {
    alloc_size(len * size_of::<T>())
}

fn value_heap(v: &Value) -> usize {
    match v {
        Value::Str(s) => alloc_size(s.len()),
        Value::Sym(s) => sym_heap_size(s),
        Value::Bytes(b) => alloc_size(b.len()),
        Value::Array(items) => slice_heap::<Value>(items.len()) + items.iter().map(value_heap).sum::<usize>(),
        Value::Map(attrs) => attrs_heap(attrs),
        Value::Bool(_) | Value::Int(_) | Value::Double(_) | Value::Empty => 0,
    }
}

pub(super) fn attrs_heap(attrs: &[Attr]) -> usize {
    slice_heap::<Attr>(attrs.len())
        + attrs
            .iter()
            .map(|a| sym_heap_size(&a.key) + value_heap(&a.value))
            .sum::<usize>()
}

fn events_heap(events: &[SpanEvent]) -> usize {
    slice_heap::<SpanEvent>(events.len())
        + events
            .iter()
            .map(|e| sym_heap_size(&e.name) + attrs_heap(&e.attributes))
            .sum::<usize>()
}

fn links_heap(links: &[SpanLink]) -> usize {
    slice_heap::<SpanLink>(links.len()) + links.iter().map(|l| attrs_heap(&l.attributes)).sum::<usize>()
}

pub(super) fn resource_bytes(r: &Resource) -> usize {
    // The Arc allocation itself (two counts + the struct), then what it owns.
    alloc_size(16 + size_of::<Resource>()) + sym_heap_size(&r.service) + attrs_heap(&r.attributes)
}

/// A record's share of something `n` records share: rounded up so the shares never add up to
/// less than the whole.
pub(super) fn shared_share(bytes: usize, n: usize) -> usize {
    bytes.div_ceil(n.max(1))
}

/// Heap bytes owned by a span (its inline size is counted by the container holding it).
pub(super) fn span_bytes(s: &SpanRecord) -> usize {
    sym_heap_size(&s.name)
        + s.status_message.as_ref().map_or(0, |m| alloc_size(m.len()))
        + sym_heap_size(&s.scope.name)
        + s.scope.version.as_ref().map_or(0, sym_heap_size)
        + attrs_heap(&s.attributes)
        + events_heap(&s.events)
        + links_heap(&s.links)
        + s.sem.as_deref().map_or(0, semantics_heap)
}

fn semantics_heap(sem: &Semantics) -> usize {
    let boxed = |b: &Option<Box<str>>| b.as_ref().map_or(0, |s| alloc_size(s.len()));
    let sym = |s: &Option<crate::intern::Sym>| s.as_ref().map_or(0, sym_heap_size);
    alloc_size(size_of::<Semantics>())
        + boxed(&sem.session)
        + boxed(&sem.user)
        + boxed(&sem.response_id)
        + [
            &sem.operation,
            &sem.provider,
            &sem.request_model,
            &sem.response_model,
            &sem.agent,
            &sem.tool,
        ]
        .into_iter()
        .chain([&sem.route, &sem.tenant, &sem.prompt_version])
        .map(sym)
        .sum::<usize>()
}

/// Heap bytes owned by a log record (its inline size is counted by its container).
pub(super) fn log_bytes(l: &LogRecord) -> usize {
    l.severity_text.as_ref().map_or(0, sym_heap_size)
        + l.event_name.as_ref().map_or(0, sym_heap_size)
        + value_heap(&l.body)
        + sym_heap_size(&l.scope.name)
        + l.scope.version.as_ref().map_or(0, sym_heap_size)
        + attrs_heap(&l.attributes)
}
