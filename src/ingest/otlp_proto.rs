//! OTLP trace and log requests read from the protobuf wire format straight into the request
//! types conversion reads, strings borrowed from the request's bytes: what the receivers take
//! on their common path, in place of prost's decode (a `String` for every key, value and name,
//! a `Vec` for every id) followed by the move into those types (`convert::owned`).
//!
//! It reads what prost reads to the same values, or gives up (`None`) and leaves the request
//! to prost, which then decodes it or answers with its own error:
//! - anything prost refuses (a cut field, a varint over 10 bytes, a wire type a known field
//!   does not have, a string that is not UTF-8, field number 0) is given up;
//! - a singular message field given twice (`resource`, `scope`, `status`, a `value`, `body`,
//!   or the same message variant of an `AnyValue` twice), which prost merges, is given up;
//! - groups (wire types 3 and 4, which no OTLP writer sends) and nesting deeper than
//!   [`MAX_DEPTH`] (prost's limit is 100) are given up.
//!
//! Otherwise, as prost: unknown fields skipped, the last value of a scalar or string field
//! wins, a varint read as `u64` and cut to the field's type, an `AnyValue` variant replaced by
//! the next one. The tests compare both decoders on every capture, on edge cases and on
//! random edits of encoded requests.
//!
//! As it reads, it counts the decode memory the decode budget's walk ([`crate::ingest::bound`])
//! counts for the same bytes (opentelemetry-proto's size of each repeated element), and stops
//! before the count passes the allowance it is given ([`traces_within`]): the receivers reserve
//! a first guess and read, instead of walking every request and then reading it.

use crate::ingest::bound::wire::sizes;
use crate::model::convert::request::{
    AnyValue, Event, Id, KeyValue, Link, LogRecord, LogsRequest, Resource, ResourceLogs, ResourceSpans,
    Scope, ScopeLogs, ScopeSpans, Span, Status, Text, TracesRequest,
};
use opentelemetry_proto::tonic::common::v1::EntityRef;
use prost::Message;
use std::borrow::Cow;
use std::cell::Cell;

/// Nesting this fast path reads; deeper requests go to prost (whose limit is 100).
pub const MAX_DEPTH: u32 = 64;

/// Decodes an `ExportTraceServiceRequest`, or `None` to leave it to prost (see the module doc).
pub fn traces(bytes: &[u8]) -> Option<TracesRequest<'_>> {
    traces_within(bytes, u64::MAX).done()
}

/// Decodes an `ExportLogsServiceRequest`, or `None` to leave it to prost.
pub fn logs(bytes: &[u8]) -> Option<LogsRequest<'_>> {
    logs_within(bytes, u64::MAX).done()
}

/// What a read within a decode allowance came to.
#[derive(Debug)]
pub enum Read<T> {
    /// The request, and what decoding it counts: the decode budget's estimate of it beyond the
    /// request's own bytes ([`crate::ingest::bound::protobuf_estimate`] less the length).
    Done(T, u64),
    /// The count passed the allowance: stopped there, having held no more than it.
    Over,
    /// Bytes this path leaves to prost (see the module doc).
    Prost,
}

impl<T> Read<T> {
    fn done(self) -> Option<T> {
        match self {
            Read::Done(req, _) => Some(req),
            Read::Over | Read::Prost => None,
        }
    }
}

/// [`traces`] counting, as it reads, what the decode budget's walk ([`crate::ingest::bound`])
/// counts for the same bytes, and stopping before the count passes `allowance`: one pass where
/// the walk and then the read took two, the memory held while reading bounded all the same.
pub fn traces_within(bytes: &[u8], allowance: u64) -> Read<TracesRequest<'_>> {
    let (read, t) = resources(bytes, allowance, sizes::RESOURCE_SPANS, resource_spans);
    t.outcome(read.map(|resource_spans| TracesRequest { resource_spans }))
}

/// [`logs`] within a decode allowance, as [`traces_within`].
pub fn logs_within(bytes: &[u8], allowance: u64) -> Read<LogsRequest<'_>> {
    let (read, t) = resources(bytes, allowance, sizes::RESOURCE_LOGS, resource_logs);
    t.outcome(read.map(|resource_logs| LogsRequest { resource_logs }))
}

/// The resources of an export request (field 1, each of `size`, read by `resource`), counted
/// within `allowance`; the tally tells a stop at the allowance from bytes left to prost.
fn resources<'a, R>(
    bytes: &'a [u8],
    allowance: u64,
    size: usize,
    resource: fn(&'a [u8], u32, &Tally) -> Option<R>,
) -> (Option<Vec<R>>, Tally) {
    let t = Tally::new(allowance);
    let read = || {
        let mut out = Vec::new();
        let mut r = Reader::new(bytes);
        while let Some((tag, field)) = r.field()? {
            match (tag, field) {
                (1, Field::Len(b)) => push(&mut out, size, &t, |t| resource(b, 1, t))?,
                (1, _) => return None,
                _ => {}
            }
        }
        Some(out)
    };
    (read(), t)
}

/// The decode memory counted so far, against the allowance.
struct Tally {
    used: Cell<u64>,
    allowance: u64,
    over: Cell<bool>,
}

impl Tally {
    fn new(allowance: u64) -> Self {
        Self {
            used: Cell::new(0),
            allowance,
            over: Cell::new(false),
        }
    }

    /// Counts one element of `size` bytes, or `None` (and over) when it would pass the
    /// allowance.
    #[inline]
    fn take(&self, size: usize) -> Option<()> {
        let used = self.used.get().saturating_add(size as u64);
        if used > self.allowance {
            self.over.set(true);
            return None;
        }
        self.used.set(used);
        Some(())
    }

    fn outcome<T>(&self, read: Option<T>) -> Read<T> {
        match read {
            Some(req) => Read::Done(req, self.used.get()),
            None if self.over.get() => Read::Over,
            None => Read::Prost,
        }
    }
}

/// Counts an element of `size` and, within the allowance, reads it (`read`) onto `v`.
#[inline]
fn push<T>(v: &mut Vec<T>, size: usize, t: &Tally, read: impl FnOnce(&Tally) -> Option<T>) -> Option<()> {
    t.take(size)?;
    v.push(read(t)?);
    Some(())
}

/// One field's value as the wire format carries it.
#[derive(Clone, Copy)]
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// A varint as prost reads it: at most 10 bytes, the tenth at most 1.
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// The next field: `Some(None)` at the end, `None` when the bytes are not what prost reads.
    #[inline]
    fn field(&mut self) -> Option<Option<(u32, Field<'a>)>> {
        if self.pos == self.buf.len() {
            return Some(None);
        }
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3).ok().filter(|t| *t > 0)?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Field::Len(self.take(len)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().ok()?)),
            // Groups, and wire types that do not exist.
            _ => return None,
        };
        Some(Some((tag, field)))
    }
}

fn text(b: &[u8]) -> Option<Text<'_>> {
    crate::json_bytes::utf8(b).ok().map(Cow::Borrowed)
}

fn id(b: &[u8]) -> Id {
    Id::from_slice(b).unwrap_or_else(|| Id::Heap(b.to_vec()))
}

/// The field's value as a varint-encoded scalar, or `None` for any other wire type (which
/// prost refuses for such a field).
fn varint(f: Field) -> Option<u64> {
    match f {
        Field::Varint(v) => Some(v),
        _ => None,
    }
}

fn fixed64(f: Field) -> Option<u64> {
    match f {
        Field::Fixed64(v) => Some(v),
        _ => None,
    }
}

fn fixed32(f: Field) -> Option<u32> {
    match f {
        Field::Fixed32(v) => Some(v),
        _ => None,
    }
}

fn len(f: Field<'_>) -> Option<&[u8]> {
    match f {
        Field::Len(b) => Some(b),
        _ => None,
    }
}

/// A singular message field: given once, or `None` (prost merges a second one).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// Reads the fields of the message in `bytes` at `depth`, each through `f`, which returns
/// `None` to give up; `None` when the nesting is deeper than [`MAX_DEPTH`].
#[inline]
fn fields<'a>(bytes: &'a [u8], depth: u32, mut f: impl FnMut(u32, Field<'a>) -> Option<()>) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut r = Reader::new(bytes);
    while let Some((tag, field)) = r.field()? {
        f(tag, field)?;
    }
    Some(())
}

fn resource_spans<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<ResourceSpans<'a>> {
    let mut rs = ResourceSpans::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut rs.resource, resource(len(f)?, d, t)?)?,
            2 => push(&mut rs.scope_spans, sizes::SCOPE_SPANS, t, |t| {
                scope_spans(len(f)?, d, t)
            })?,
            3 => rs.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(rs)
}

fn resource_logs<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<ResourceLogs<'a>> {
    let mut rl = ResourceLogs::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut rl.resource, resource(len(f)?, d, t)?)?,
            2 => push(&mut rl.scope_logs, sizes::SCOPE_LOGS, t, |t| {
                scope_logs(len(f)?, d, t)
            })?,
            3 => rl.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(rl)
}

fn resource<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<Resource<'a>> {
    let mut r = Resource::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => push(&mut r.attributes, sizes::KEY_VALUE, t, |t| {
                key_value(len(f)?, d, t)
            })?,
            2 => r.dropped_attributes_count = varint(f)? as u32,
            3 => push(&mut r.entity_refs, sizes::ENTITY_REF, t, |t| {
                entity_ref(len(f)?, d, t)
            })?,
            _ => {}
        }
        Some(())
    })?;
    Some(r)
}

/// An `EntityRef` (rare): prost's own type, decoded by prost, its repeated strings counted
/// first as the walk counts them.
fn entity_ref(bytes: &[u8], depth: u32, t: &Tally) -> Option<EntityRef> {
    fields(bytes, depth, |tag, f| match (tag, f) {
        (3 | 4, Field::Len(_)) => t.take(sizes::STRING),
        _ => Some(()),
    })?;
    EntityRef::decode(bytes).ok()
}

fn scope<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<Scope<'a>> {
    let mut s = Scope::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => s.name = text(len(f)?)?,
            2 => s.version = text(len(f)?)?,
            3 => push(&mut s.attributes, sizes::KEY_VALUE, t, |t| {
                key_value(len(f)?, d, t)
            })?,
            4 => s.dropped_attributes_count = varint(f)? as u32,
            _ => {}
        }
        Some(())
    })?;
    Some(s)
}

fn scope_spans<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<ScopeSpans<'a>> {
    let mut ss = ScopeSpans::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut ss.scope, scope(len(f)?, d, t)?)?,
            2 => push(&mut ss.spans, sizes::SPAN, t, |t| {
                span(len(f)?, d, t).map(Box::new)
            })?,
            3 => ss.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(ss)
}

fn scope_logs<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<ScopeLogs<'a>> {
    let mut sl = ScopeLogs::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut sl.scope, scope(len(f)?, d, t)?)?,
            2 => push(&mut sl.log_records, sizes::LOG_RECORD, t, |t| {
                log_record(len(f)?, d, t)
            })?,
            3 => sl.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(sl)
}

fn span<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<Span<'a>> {
    let mut s = Span::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => s.trace_id = id(len(f)?),
            2 => s.span_id = id(len(f)?),
            3 => s.trace_state = text(len(f)?)?,
            4 => s.parent_span_id = id(len(f)?),
            5 => s.name = text(len(f)?)?,
            6 => s.kind = varint(f)? as i32,
            7 => s.start_time_unix_nano = fixed64(f)?,
            8 => s.end_time_unix_nano = fixed64(f)?,
            9 => push(&mut s.attributes, sizes::KEY_VALUE, t, |t| {
                key_value(len(f)?, d, t)
            })?,
            10 => s.dropped_attributes_count = varint(f)? as u32,
            11 => push(&mut s.events, sizes::EVENT, t, |t| event(len(f)?, d, t))?,
            12 => s.dropped_events_count = varint(f)? as u32,
            13 => push(&mut s.links, sizes::LINK, t, |t| link(len(f)?, d, t))?,
            14 => s.dropped_links_count = varint(f)? as u32,
            15 => once(&mut s.status, status(len(f)?, d)?)?,
            16 => s.flags = fixed32(f)?,
            _ => {}
        }
        Some(())
    })?;
    Some(s)
}

fn event<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<Event<'a>> {
    let mut e = Event::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => e.time_unix_nano = fixed64(f)?,
            2 => e.name = text(len(f)?)?,
            3 => push(&mut e.attributes, sizes::KEY_VALUE, t, |t| {
                key_value(len(f)?, d, t)
            })?,
            4 => e.dropped_attributes_count = varint(f)? as u32,
            _ => {}
        }
        Some(())
    })?;
    Some(e)
}

fn link<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<Link<'a>> {
    let mut l = Link::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => l.trace_id = id(len(f)?),
            2 => l.span_id = id(len(f)?),
            3 => l.trace_state = text(len(f)?)?,
            4 => push(&mut l.attributes, sizes::KEY_VALUE, t, |t| {
                key_value(len(f)?, d, t)
            })?,
            5 => l.dropped_attributes_count = varint(f)? as u32,
            6 => l.flags = fixed32(f)?,
            _ => {}
        }
        Some(())
    })?;
    Some(l)
}

fn status(bytes: &[u8], depth: u32) -> Option<Status<'_>> {
    let mut s = Status::default();
    fields(bytes, depth, |tag, f| {
        match tag {
            2 => s.message = text(len(f)?)?,
            3 => s.code = varint(f)? as i32,
            _ => {}
        }
        Some(())
    })?;
    Some(s)
}

fn log_record<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<LogRecord<'a>> {
    let mut l = LogRecord::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => l.time_unix_nano = fixed64(f)?,
            2 => l.severity_number = varint(f)? as i32,
            3 => l.severity_text = text(len(f)?)?,
            5 => once(&mut l.body, any_value(len(f)?, d, t)?)?,
            6 => push(&mut l.attributes, sizes::KEY_VALUE, t, |t| {
                key_value(len(f)?, d, t)
            })?,
            7 => l.dropped_attributes_count = varint(f)? as u32,
            8 => l.flags = fixed32(f)?,
            9 => l.trace_id = id(len(f)?),
            10 => l.span_id = id(len(f)?),
            11 => l.observed_time_unix_nano = fixed64(f)?,
            12 => l.event_name = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(l)
}

fn key_value<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<KeyValue<'a>> {
    let mut kv = KeyValue::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => kv.key = text(len(f)?)?,
            2 => once(&mut kv.value, any_value(len(f)?, d, t)?)?,
            3 => kv.key_strindex = varint(f)? as i32,
            _ => {}
        }
        Some(())
    })?;
    Some(kv)
}

/// An `AnyValue`: [`AnyValue::Empty`] without a variant, else the last variant given.
fn any_value<'a>(bytes: &'a [u8], depth: u32, t: &Tally) -> Option<AnyValue<'a>> {
    let mut v = AnyValue::Empty;
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        v = match tag {
            1 => AnyValue::String(text(len(f)?)?),
            2 => AnyValue::Bool(varint(f)? != 0),
            3 => AnyValue::Int(varint(f)? as i64),
            4 => AnyValue::Double(f64::from_bits(fixed64(f)?)),
            // The same message variant again is merged by prost.
            5 if matches!(v, AnyValue::Array(_)) => return None,
            5 => {
                let mut values = Vec::new();
                fields(len(f)?, d, |tag, f| {
                    if tag == 1 {
                        push(&mut values, sizes::ANY_VALUE, t, |t| any_value(len(f)?, d + 1, t))?;
                    }
                    Some(())
                })?;
                AnyValue::Array(values)
            }
            6 if matches!(v, AnyValue::Kvlist(_)) => return None,
            6 => {
                let mut values = Vec::new();
                fields(len(f)?, d, |tag, f| {
                    if tag == 1 {
                        push(&mut values, sizes::KEY_VALUE, t, |t| key_value(len(f)?, d + 1, t))?;
                    }
                    Some(())
                })?;
                AnyValue::Kvlist(values)
            }
            7 => AnyValue::Bytes(len(f)?.to_vec()),
            8 => AnyValue::StringStrindex(varint(f)? as i32),
            _ => return Some(()),
        };
        Some(())
    })?;
    Some(v)
}

#[cfg(test)]
mod tests;
