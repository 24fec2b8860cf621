//! A hand-written scanner for the usual shape of an OTLP/JSON trace or log request, into the
//! borrowed types conversion reads: what writers produce (the Collector, the SDK file exporters,
//! `--record`), read about twice as fast as through serde's visitors.
//!
//! It reads a strict subset of what the visitors (and so the reference) accept, and gives up on
//! anything else, leaving the whole text to them: unknown fields, duplicate fields, `null` where
//! a value is expected, numbers that are not plain integers (except `doubleValue`), keys or ids
//! with escapes, `\u` escapes of surrogates, non-empty `entityRefs`, `doubleValue` strings other
//! than `"NaN"`, `"Infinity"` and `"-Infinity"`, nesting deeper than [`MAX_DEPTH`], objects
//! written as arrays. Where it does read a text, it must read it to exactly what the visitors
//! read; the tests compare the two on every capture and on the edge cases.

use super::{base64_standard, hex_id};
use crate::json_bytes::{find_special, special_bytes};
use crate::model::convert::borrowed::{
    AnyValue, Event, Id, KeyValue, Link, LogRecord, LogsRequest, Resource, ResourceLogs, ResourceSpans,
    Scope, ScopeLogs, ScopeSpans, Span, Status, Text, TracesRequest,
};
use std::borrow::Cow;

/// The text is not one this scanner reads.
#[derive(Debug)]
pub(super) struct GiveUp;

type Scan<T> = Result<T, GiveUp>;

/// Deepest nesting of arrays and objects read here (serde_json stops at 128).
const MAX_DEPTH: usize = 100;

pub(super) fn traces(text: &[u8]) -> Scan<TracesRequest<'_>> {
    let mut s = Scanner {
        text,
        pos: 0,
        depth: 0,
        scratch: Vec::new(),
        attributes: Vec::new(),
    };
    let req = s.request()?;
    s.ws();
    if s.pos != text.len() {
        return Err(GiveUp);
    }
    Ok(req)
}

pub(super) fn logs(text: &[u8]) -> Scan<LogsRequest<'_>> {
    let mut s = Scanner {
        text,
        pos: 0,
        depth: 0,
        scratch: Vec::new(),
        attributes: Vec::new(),
    };
    let req = s.logs_request()?;
    s.ws();
    if s.pos != text.len() {
        return Err(GiveUp);
    }
    Ok(req)
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    depth: usize,
    /// Where strings with escapes are put together before they get an allocation of their size.
    scratch: Vec<u8>,
    /// Where [`Scanner::attributes`] gathers them.
    attributes: Vec<KeyValue<'a>>,
}

/// Marks a field as read; a field read twice gives up (serde derive refuses it).
fn once(seen: &mut u32, bit: u32) -> Scan<()> {
    if *seen & (1 << bit) != 0 {
        return Err(GiveUp);
    }
    *seen |= 1 << bit;
    Ok(())
}

impl<'a> Scanner<'a> {
    /// Skips JSON whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.text.get(self.pos).copied()
    }

    #[inline]
    fn eat(&mut self, b: u8) -> Scan<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// An object; `field` is called with each key, positioned before its value, and must read it.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Scan<()>) -> Scan<()> {
        self.eat(b'{')?;
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                let key = self.key()?;
                self.eat(b':')?;
                field(self, key)?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array of what `item` reads.
    fn array<T>(&mut self, item: impl FnMut(&mut Self) -> Scan<T>) -> Scan<Vec<T>> {
        let mut out = Vec::new();
        self.array_into(&mut out, item)?;
        Ok(out)
    }

    /// An array, its items pushed onto `out`.
    fn array_into<T>(&mut self, out: &mut Vec<T>, mut item: impl FnMut(&mut Self) -> Scan<T>) -> Scan<()> {
        self.eat(b'[')?;
        self.enter()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                out.push(item(self)?);
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array of `KeyValue`s, gathered in a reused vector and then given one of their size
    /// (a span has a few dozen: growing its own vector would take several allocations).
    fn attributes(&mut self) -> Scan<Vec<KeyValue<'a>>> {
        // Taken while in use: attributes nested in a value gather in a vector of their own.
        let mut gathered = std::mem::take(&mut self.attributes);
        gathered.clear();
        let read = self.array_into(&mut gathered, |s| s.key_value());
        let mut out = Vec::with_capacity(gathered.len());
        out.append(&mut gathered);
        self.attributes = gathered;
        read.map(|()| out)
    }

    /// `null` (consumed) or not (nothing consumed).
    fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.text[self.pos..].starts_with(b"null") {
            self.pos += 4;
            return true;
        }
        false
    }

    /// A string without escapes, as raw bytes (keys and ids).
    fn raw(&mut self) -> Scan<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = start + find_special(&self.text[start..]).ok_or(GiveUp)?;
        if self.text[end] != b'"' {
            return Err(GiveUp);
        }
        self.pos = end + 1;
        Ok(&self.text[start..end])
    }

    /// An object key. Keys are compared with ASCII names, so one that is not valid UTF-8 is
    /// simply unknown (and gives up).
    fn key(&mut self) -> Scan<&'a [u8]> {
        self.raw()
    }

    /// A string, borrowed unless it has escapes; checked as serde_json checks a `String`.
    fn string(&mut self) -> Scan<Text<'a>> {
        self.eat(b'"')?;
        let start = self.pos;
        let mut i = start + find_special(&self.text[start..]).ok_or(GiveUp)?;
        if self.text[i] == b'"' {
            self.pos = i + 1;
            return std::str::from_utf8(&self.text[start..i])
                .map(Cow::Borrowed)
                .map_err(|_| GiveUp);
        }
        // With escapes (JSON text in a JSON string has one every few bytes): the plain bytes
        // before the next special one are copied eight at a time, the whole eight written and
        // the vector cut back to the plain ones (no copy call for a run of a few bytes).
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        out.extend_from_slice(&self.text[start..i]);
        loop {
            while let Some(chunk) = self.text.get(i..i + 8) {
                let chunk: [u8; 8] = chunk.try_into().unwrap_or_default();
                let special = special_bytes(u64::from_le_bytes(chunk));
                out.extend_from_slice(&chunk);
                if special == 0 {
                    i += 8;
                    continue;
                }
                let plain = (special.trailing_zeros() / 8) as usize;
                out.truncate(out.len() - 8 + plain);
                i += plain;
                break;
            }
            match *self.text.get(i).ok_or(GiveUp)? {
                b'"' => {
                    self.pos = i + 1;
                    break;
                }
                b'\\' => {
                    let escape = *self.text.get(i + 1).ok_or(GiveUp)?;
                    i += 2;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let code = hex4(self.text.get(i..i + 4).ok_or(GiveUp)?)?;
                            i += 4;
                            // Surrogates (pairs, and the lone ones serde_json refuses): not here.
                            let c = char::from_u32(code).ok_or(GiveUp)?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return Err(GiveUp),
                    }
                }
                0..0x20 => return Err(GiveUp), // a control character
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        let text = std::str::from_utf8(&out).map(String::from).map_err(|_| GiveUp);
        self.scratch = out;
        text.map(Cow::Owned)
    }

    /// A plain non-negative integer: `0` or `[1-9][0-9]*`, at most 19 digits, not followed by a
    /// fraction or an exponent (those are floats to serde_json).
    fn digits(&mut self) -> Scan<u64> {
        self.ws();
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(&b) = self.text.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            if self.pos - start == 19 {
                return Err(GiveUp);
            }
            v = v * 10 + u64::from(b - b'0');
            self.pos += 1;
        }
        let n = self.pos - start;
        if n == 0 || (n > 1 && self.text[start] == b'0') {
            return Err(GiveUp);
        }
        if let Some(b'.' | b'e' | b'E') = self.text.get(self.pos) {
            return Err(GiveUp);
        }
        Ok(v)
    }

    /// A plain integer with an optional minus (not `-0`, a float to serde_json): magnitude and
    /// sign.
    fn signed(&mut self) -> Scan<(u64, bool)> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let v = self.digits()?;
        if negative && v == 0 {
            return Err(GiveUp);
        }
        Ok((v, negative))
    }

    fn u32(&mut self) -> Scan<u32> {
        u32::try_from(self.digits()?).map_err(|_| GiveUp)
    }

    fn i32(&mut self) -> Scan<i32> {
        let (v, negative) = self.signed()?;
        let v = i64::try_from(v).map_err(|_| GiveUp)?;
        i32::try_from(if negative { -v } else { v }).map_err(|_| GiveUp)
    }

    /// A `fixed64` time: a plain integer, or a string `u64::from_str` reads (as the reference).
    fn unix_nano(&mut self) -> Scan<u64> {
        if self.peek() == Some(b'"') {
            return self.string()?.parse().map_err(|_| GiveUp);
        }
        self.digits()
    }

    /// `intValue`: a plain integer within `i64`, or a string `i64::from_str` reads.
    fn int64(&mut self) -> Scan<i64> {
        if self.peek() == Some(b'"') {
            return self.string()?.parse().map_err(|_| GiveUp);
        }
        let (v, negative) = self.signed()?;
        if negative {
            0i64.checked_sub_unsigned(v).ok_or(GiveUp)
        } else {
            i64::try_from(v).map_err(|_| GiveUp)
        }
    }

    /// `doubleValue`: a JSON number (read to the nearest double, as serde_json's
    /// `float_roundtrip` does, and finite), or one of the three proto3 JSON names.
    fn double(&mut self) -> Scan<f64> {
        if self.peek() == Some(b'"') {
            return match self.raw()? {
                b"NaN" => Ok(f64::NAN),
                b"Infinity" => Ok(f64::INFINITY),
                b"-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(GiveUp),
            };
        }
        let start = self.pos;
        if self.text.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int = self.run_of_digits();
        if int == 0 || (int > 1 && self.text[self.pos - int] == b'0') {
            return Err(GiveUp);
        }
        if self.text.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.run_of_digits() == 0 {
                return Err(GiveUp);
            }
        }
        if let Some(b'e' | b'E') = self.text.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.text.get(self.pos) {
                self.pos += 1;
            }
            if self.run_of_digits() == 0 {
                return Err(GiveUp);
            }
        }
        let number = std::str::from_utf8(&self.text[start..self.pos]).map_err(|_| GiveUp)?;
        let v: f64 = number.parse().map_err(|_| GiveUp)?;
        if !v.is_finite() {
            return Err(GiveUp);
        }
        Ok(v)
    }

    fn run_of_digits(&mut self) -> usize {
        let start = self.pos;
        while self.text.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn bool(&mut self) -> Scan<bool> {
        self.ws();
        let rest = &self.text[self.pos..];
        if rest.starts_with(b"true") {
            self.pos += 4;
            Ok(true)
        } else if rest.starts_with(b"false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(GiveUp)
        }
    }

    fn id(&mut self) -> Scan<Id> {
        let raw = self.raw()?;
        let s = std::str::from_utf8(raw).map_err(|_| GiveUp)?;
        hex_id(s).map_err(|_| GiveUp)
    }

    // -------------------------------------------------------------- messages

    fn request(&mut self) -> Scan<TracesRequest<'a>> {
        let mut out = TracesRequest::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"resourceSpans" => {
                    once(&mut seen, 0)?;
                    out.resource_spans = s.array(Self::resource_spans)?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn resource_spans(&mut self) -> Scan<ResourceSpans<'a>> {
        let mut out = ResourceSpans::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"resource" => {
                    once(&mut seen, 0)?;
                    out.resource = if s.null() { None } else { Some(s.resource()?) };
                }
                b"scopeSpans" => {
                    once(&mut seen, 1)?;
                    out.scope_spans = s.array(Self::scope_spans)?;
                }
                b"schemaUrl" => {
                    once(&mut seen, 2)?;
                    s.string()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn resource(&mut self) -> Scan<Resource<'a>> {
        let mut out = Resource::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"attributes" => {
                    once(&mut seen, 0)?;
                    out.attributes = s.attributes()?;
                }
                b"droppedAttributesCount" => {
                    once(&mut seen, 1)?;
                    s.u32()?;
                }
                b"entityRefs" => {
                    once(&mut seen, 2)?;
                    s.array(|_| Err::<(), _>(GiveUp))?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn scope_spans(&mut self) -> Scan<ScopeSpans<'a>> {
        let mut out = ScopeSpans::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"scope" => {
                    once(&mut seen, 0)?;
                    out.scope = if s.null() { None } else { Some(s.scope()?) };
                }
                b"spans" => {
                    once(&mut seen, 1)?;
                    out.spans = s.array(|s| s.span().map(Box::new))?;
                }
                b"schemaUrl" => {
                    once(&mut seen, 2)?;
                    s.string()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn scope(&mut self) -> Scan<Scope<'a>> {
        let mut out = Scope::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"name" => {
                    once(&mut seen, 0)?;
                    out.name = s.string()?;
                }
                b"version" => {
                    once(&mut seen, 1)?;
                    out.version = s.string()?;
                }
                b"attributes" => {
                    once(&mut seen, 2)?;
                    s.attributes()?;
                }
                b"droppedAttributesCount" => {
                    once(&mut seen, 3)?;
                    s.u32()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn span(&mut self) -> Scan<Span<'a>> {
        let mut out = Span::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"traceId" => {
                    once(&mut seen, 0)?;
                    out.trace_id = s.id()?;
                }
                b"spanId" => {
                    once(&mut seen, 1)?;
                    out.span_id = s.id()?;
                }
                b"traceState" => {
                    once(&mut seen, 2)?;
                    s.string()?;
                }
                b"parentSpanId" => {
                    once(&mut seen, 3)?;
                    out.parent_span_id = s.id()?;
                }
                b"flags" => {
                    once(&mut seen, 4)?;
                    out.flags = s.u32()?;
                }
                b"name" => {
                    once(&mut seen, 5)?;
                    out.name = s.string()?;
                }
                b"kind" => {
                    once(&mut seen, 6)?;
                    out.kind = s.i32()?;
                }
                b"startTimeUnixNano" => {
                    once(&mut seen, 7)?;
                    out.start_time_unix_nano = s.unix_nano()?;
                }
                b"endTimeUnixNano" => {
                    once(&mut seen, 8)?;
                    out.end_time_unix_nano = s.unix_nano()?;
                }
                b"attributes" => {
                    once(&mut seen, 9)?;
                    out.attributes = s.attributes()?;
                }
                b"droppedAttributesCount" => {
                    once(&mut seen, 10)?;
                    s.u32()?;
                }
                b"events" => {
                    once(&mut seen, 11)?;
                    out.events = s.array(Self::event)?;
                }
                b"droppedEventsCount" => {
                    once(&mut seen, 12)?;
                    s.u32()?;
                }
                b"links" => {
                    once(&mut seen, 13)?;
                    out.links = s.array(Self::link)?;
                }
                b"droppedLinksCount" => {
                    once(&mut seen, 14)?;
                    s.u32()?;
                }
                b"status" => {
                    once(&mut seen, 15)?;
                    out.status = if s.null() { None } else { Some(s.status()?) };
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn logs_request(&mut self) -> Scan<LogsRequest<'a>> {
        let mut out = LogsRequest::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"resourceLogs" => {
                    once(&mut seen, 0)?;
                    out.resource_logs = s.array(Self::resource_logs)?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn resource_logs(&mut self) -> Scan<ResourceLogs<'a>> {
        let mut out = ResourceLogs::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"resource" => {
                    once(&mut seen, 0)?;
                    out.resource = if s.null() { None } else { Some(s.resource()?) };
                }
                b"scopeLogs" => {
                    once(&mut seen, 1)?;
                    out.scope_logs = s.array(Self::scope_logs)?;
                }
                b"schemaUrl" => {
                    once(&mut seen, 2)?;
                    s.string()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn scope_logs(&mut self) -> Scan<ScopeLogs<'a>> {
        let mut out = ScopeLogs::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"scope" => {
                    once(&mut seen, 0)?;
                    out.scope = if s.null() { None } else { Some(s.scope()?) };
                }
                b"logRecords" => {
                    once(&mut seen, 1)?;
                    out.log_records = s.array(Self::log_record)?;
                }
                b"schemaUrl" => {
                    once(&mut seen, 2)?;
                    s.string()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn log_record(&mut self) -> Scan<LogRecord<'a>> {
        let mut out = LogRecord::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"timeUnixNano" => {
                    once(&mut seen, 0)?;
                    out.time_unix_nano = s.unix_nano()?;
                }
                b"observedTimeUnixNano" => {
                    once(&mut seen, 1)?;
                    out.observed_time_unix_nano = s.unix_nano()?;
                }
                b"severityNumber" => {
                    once(&mut seen, 2)?;
                    out.severity_number = s.i32()?;
                }
                b"severityText" => {
                    once(&mut seen, 3)?;
                    out.severity_text = s.string()?;
                }
                b"body" => {
                    once(&mut seen, 4)?;
                    out.body = if s.null() { None } else { s.any_value()? };
                }
                b"attributes" => {
                    once(&mut seen, 5)?;
                    out.attributes = s.attributes()?;
                }
                b"droppedAttributesCount" => {
                    once(&mut seen, 6)?;
                    s.u32()?;
                }
                b"flags" => {
                    once(&mut seen, 7)?;
                    s.u32()?;
                }
                b"traceId" => {
                    once(&mut seen, 8)?;
                    out.trace_id = s.id()?;
                }
                b"spanId" => {
                    once(&mut seen, 9)?;
                    out.span_id = s.id()?;
                }
                b"eventName" => {
                    once(&mut seen, 10)?;
                    out.event_name = s.string()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn event(&mut self) -> Scan<Event<'a>> {
        let mut out = Event::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"timeUnixNano" => {
                    once(&mut seen, 0)?;
                    out.time_unix_nano = s.unix_nano()?;
                }
                b"name" => {
                    once(&mut seen, 1)?;
                    out.name = s.string()?;
                }
                b"attributes" => {
                    once(&mut seen, 2)?;
                    out.attributes = s.attributes()?;
                }
                b"droppedAttributesCount" => {
                    once(&mut seen, 3)?;
                    s.u32()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn link(&mut self) -> Scan<Link<'a>> {
        let mut out = Link::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"traceId" => {
                    once(&mut seen, 0)?;
                    out.trace_id = s.id()?;
                }
                b"spanId" => {
                    once(&mut seen, 1)?;
                    out.span_id = s.id()?;
                }
                b"traceState" => {
                    once(&mut seen, 2)?;
                    s.string()?;
                }
                b"attributes" => {
                    once(&mut seen, 3)?;
                    out.attributes = s.attributes()?;
                }
                b"droppedAttributesCount" => {
                    once(&mut seen, 4)?;
                    s.u32()?;
                }
                b"flags" => {
                    once(&mut seen, 5)?;
                    s.u32()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn status(&mut self) -> Scan<Status<'a>> {
        let mut out = Status::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"message" => {
                    once(&mut seen, 0)?;
                    out.message = s.string()?;
                }
                b"code" => {
                    once(&mut seen, 1)?;
                    out.code = s.i32()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// A `KeyValue` (its `key` is required).
    fn key_value(&mut self) -> Scan<KeyValue<'a>> {
        let mut out = KeyValue::default();
        let mut seen = 0;
        self.object(|s, key| {
            match key {
                b"key" => {
                    once(&mut seen, 0)?;
                    out.key = s.string()?;
                }
                b"value" => {
                    once(&mut seen, 1)?;
                    out.value = if s.null() { None } else { s.any_value()? };
                }
                b"keyStrindex" => {
                    once(&mut seen, 2)?;
                    s.i32()?;
                }
                _ => return Err(GiveUp),
            }
            Ok(())
        })?;
        if seen & 1 == 0 {
            return Err(GiveUp);
        }
        Ok(out)
    }

    /// An `AnyValue` object: its variant, if any (the last one given that is not `null`).
    fn any_value(&mut self) -> Scan<Option<AnyValue<'a>>> {
        let mut value = None;
        self.object(|s, key| {
            let v = if s.null() {
                match key {
                    b"stringValue" | b"boolValue" | b"intValue" | b"doubleValue" | b"arrayValue"
                    | b"kvlistValue" | b"bytesValue" => None,
                    _ => return Err(GiveUp),
                }
            } else {
                Some(match key {
                    b"stringValue" => AnyValue::String(s.string()?),
                    b"boolValue" => AnyValue::Bool(s.bool()?),
                    b"intValue" => AnyValue::Int(s.int64()?),
                    b"doubleValue" => AnyValue::Double(s.double()?),
                    b"arrayValue" => AnyValue::Array(s.values(|s| s.any_value())?),
                    b"kvlistValue" => AnyValue::Kvlist(s.values(|s| s.key_value())?),
                    b"bytesValue" => AnyValue::Bytes(base64_standard(&s.string()?).map_err(|_| GiveUp)?),
                    _ => return Err(GiveUp),
                })
            };
            if v.is_some() {
                value = v;
            }
            Ok(())
        })?;
        Ok(value)
    }

    /// An `ArrayValue` or `KeyValueList`: `{"values": [...]}` (required).
    fn values<T>(&mut self, mut item: impl FnMut(&mut Self) -> Scan<T>) -> Scan<Vec<T>> {
        let mut values = None;
        self.object(|s, key| match key {
            b"values" if values.is_none() => {
                values = Some(s.array(&mut item)?);
                Ok(())
            }
            _ => Err(GiveUp),
        })?;
        values.ok_or(GiveUp)
    }
}

fn hex4(digits: &[u8]) -> Scan<u32> {
    let mut v = 0;
    for &d in digits {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(GiveUp),
        };
        v = v * 16 + u32::from(n);
    }
    Ok(v)
}
