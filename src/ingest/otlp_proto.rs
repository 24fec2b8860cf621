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

use crate::model::convert::request::{
    AnyValue, Event, Id, KeyValue, Link, LogRecord, LogsRequest, Resource, ResourceLogs, ResourceSpans,
    Scope, ScopeLogs, ScopeSpans, Span, Status, Text, TracesRequest,
};
use opentelemetry_proto::tonic::common::v1::EntityRef;
use prost::Message;
use std::borrow::Cow;

/// Nesting this fast path reads; deeper requests go to prost (whose limit is 100).
pub const MAX_DEPTH: u32 = 64;

/// Decodes an `ExportTraceServiceRequest`, or `None` to leave it to prost (see the module doc).
pub fn traces(bytes: &[u8]) -> Option<TracesRequest<'_>> {
    let mut req = TracesRequest::default();
    let mut r = Reader::new(bytes);
    while let Some((tag, field)) = r.field()? {
        match (tag, field) {
            (1, Field::Len(b)) => req.resource_spans.push(resource_spans(b, 1)?),
            (1, _) => return None,
            _ => {}
        }
    }
    Some(req)
}

/// Decodes an `ExportLogsServiceRequest`, or `None` to leave it to prost.
pub fn logs(bytes: &[u8]) -> Option<LogsRequest<'_>> {
    let mut req = LogsRequest::default();
    let mut r = Reader::new(bytes);
    while let Some((tag, field)) = r.field()? {
        match (tag, field) {
            (1, Field::Len(b)) => req.resource_logs.push(resource_logs(b, 1)?),
            (1, _) => return None,
            _ => {}
        }
    }
    Some(req)
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
    std::str::from_utf8(b).ok().map(Cow::Borrowed)
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

fn resource_spans(bytes: &[u8], depth: u32) -> Option<ResourceSpans<'_>> {
    let mut rs = ResourceSpans::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut rs.resource, resource(len(f)?, d)?)?,
            2 => rs.scope_spans.push(scope_spans(len(f)?, d)?),
            3 => rs.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(rs)
}

fn resource_logs(bytes: &[u8], depth: u32) -> Option<ResourceLogs<'_>> {
    let mut rl = ResourceLogs::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut rl.resource, resource(len(f)?, d)?)?,
            2 => rl.scope_logs.push(scope_logs(len(f)?, d)?),
            3 => rl.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(rl)
}

fn resource(bytes: &[u8], depth: u32) -> Option<Resource<'_>> {
    let mut r = Resource::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => r.attributes.push(key_value(len(f)?, d)?),
            2 => r.dropped_attributes_count = varint(f)? as u32,
            // Rare: prost's own type, decoded by prost.
            3 => r.entity_refs.push(EntityRef::decode(len(f)?).ok()?),
            _ => {}
        }
        Some(())
    })?;
    Some(r)
}

fn scope(bytes: &[u8], depth: u32) -> Option<Scope<'_>> {
    let mut s = Scope::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => s.name = text(len(f)?)?,
            2 => s.version = text(len(f)?)?,
            3 => s.attributes.push(key_value(len(f)?, d)?),
            4 => s.dropped_attributes_count = varint(f)? as u32,
            _ => {}
        }
        Some(())
    })?;
    Some(s)
}

fn scope_spans(bytes: &[u8], depth: u32) -> Option<ScopeSpans<'_>> {
    let mut ss = ScopeSpans::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut ss.scope, scope(len(f)?, d)?)?,
            2 => ss.spans.push(Box::new(span(len(f)?, d)?)),
            3 => ss.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(ss)
}

fn scope_logs(bytes: &[u8], depth: u32) -> Option<ScopeLogs<'_>> {
    let mut sl = ScopeLogs::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => once(&mut sl.scope, scope(len(f)?, d)?)?,
            2 => sl.log_records.push(log_record(len(f)?, d)?),
            3 => sl.schema_url = text(len(f)?)?,
            _ => {}
        }
        Some(())
    })?;
    Some(sl)
}

fn span(bytes: &[u8], depth: u32) -> Option<Span<'_>> {
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
            9 => s.attributes.push(key_value(len(f)?, d)?),
            10 => s.dropped_attributes_count = varint(f)? as u32,
            11 => s.events.push(event(len(f)?, d)?),
            12 => s.dropped_events_count = varint(f)? as u32,
            13 => s.links.push(link(len(f)?, d)?),
            14 => s.dropped_links_count = varint(f)? as u32,
            15 => once(&mut s.status, status(len(f)?, d)?)?,
            16 => s.flags = fixed32(f)?,
            _ => {}
        }
        Some(())
    })?;
    Some(s)
}

fn event(bytes: &[u8], depth: u32) -> Option<Event<'_>> {
    let mut e = Event::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => e.time_unix_nano = fixed64(f)?,
            2 => e.name = text(len(f)?)?,
            3 => e.attributes.push(key_value(len(f)?, d)?),
            4 => e.dropped_attributes_count = varint(f)? as u32,
            _ => {}
        }
        Some(())
    })?;
    Some(e)
}

fn link(bytes: &[u8], depth: u32) -> Option<Link<'_>> {
    let mut l = Link::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => l.trace_id = id(len(f)?),
            2 => l.span_id = id(len(f)?),
            3 => l.trace_state = text(len(f)?)?,
            4 => l.attributes.push(key_value(len(f)?, d)?),
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

fn log_record(bytes: &[u8], depth: u32) -> Option<LogRecord<'_>> {
    let mut l = LogRecord::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => l.time_unix_nano = fixed64(f)?,
            2 => l.severity_number = varint(f)? as i32,
            3 => l.severity_text = text(len(f)?)?,
            5 => once(&mut l.body, any_value(len(f)?, d)?)?,
            6 => l.attributes.push(key_value(len(f)?, d)?),
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

fn key_value(bytes: &[u8], depth: u32) -> Option<KeyValue<'_>> {
    let mut kv = KeyValue::default();
    let d = depth + 1;
    fields(bytes, depth, |tag, f| {
        match tag {
            1 => kv.key = text(len(f)?)?,
            2 => once(&mut kv.value, any_value(len(f)?, d)?)?,
            3 => kv.key_strindex = varint(f)? as i32,
            _ => {}
        }
        Some(())
    })?;
    Some(kv)
}

/// An `AnyValue`: [`AnyValue::Empty`] without a variant, else the last variant given.
fn any_value(bytes: &[u8], depth: u32) -> Option<AnyValue<'_>> {
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
                        values.push(any_value(len(f)?, d + 1)?);
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
                        values.push(key_value(len(f)?, d + 1)?);
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
