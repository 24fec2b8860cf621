//! The scanner behind `otlp_json::traces` and `otlp_json::logs`: one pass over the bytes, into the
//! request types conversion reads, strings borrowed unless they have escapes. It accepts what
//! opentelemetry-proto's `Deserialize` accepts, read to the same values (the rules are listed in
//! [`super`]), and refuses the rest with an [`Error`] at the byte where it stopped.

use super::error::Error;
use crate::json_bytes::{copy_run, find_special, scan_run, utf8_after};
use crate::model::convert::request::{
    AnyValue, Event, Id, KeyValue, Link, LogRecord, LogsRequest, Resource, ResourceLogs, ResourceSpans,
    Scope, ScopeLogs, ScopeSpans, Span, Status, Text, TracesRequest,
};
use opentelemetry_proto::tonic::common::v1::EntityRef;
use std::borrow::Cow;

/// Boxed: the error is rare and large, and a small `Result` keeps every read's return cheap.
type Scan<T> = Result<T, Box<Error>>;

/// Nesting at which serde_json (and so the reference) stops: it counts every array and object
/// read as a message, a list or inside an `AnyValue`, not those of a skipped unknown field.
const DEPTH_LIMIT: usize = 128;

/// A trace request, reading at most `objects` JSON objects (then refusing it).
pub(super) fn traces(text: &[u8], objects: usize) -> Scan<TracesRequest<'_>> {
    Scanner::new(text, objects).whole(Scanner::traces_request)
}

/// A log request, reading at most `objects` JSON objects (then refusing it).
pub(super) fn logs(text: &[u8], objects: usize) -> Scan<LogsRequest<'_>> {
    Scanner::new(text, objects).whole(Scanner::logs_request)
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    depth: usize,
    /// Inside an `AnyValue`, where the reference reads unknown fields in full (see
    /// [`Scanner::unknown`]).
    in_any_value: usize,
    /// Where strings with escapes are put together before they get an allocation of their size.
    scratch: Vec<u8>,
    /// Where [`Scanner::attributes`] gathers them.
    attributes: Vec<KeyValue<'a>>,
    /// How many more objects may be read: each may be a struct of its own in the request, so
    /// this bounds what reading allocates (see `ingest::bound::json_objects_within`).
    objects: usize,
}

/// Declares how a message is read: each known key, its bit in the fields seen (a field given
/// twice is refused, as serde derive refuses it), the field it fills and the reader of its
/// value; unknown keys go to [`Scanner::unknown`]. `required` names the bits that must be seen.
macro_rules! message {
    ($name:ident -> $ty:ty $(, required $mask:literal $missing:literal)? {
        $($key:literal $bit:literal => $field:ident: $read:expr),* $(,)?
    }) => {
        fn $name(&mut self) -> Scan<$ty> {
            let mut out = <$ty>::default();
            let mut seen = 0u32;
            self.object(|s, key| {
                match key {
                    $($key => {
                        s.once(&mut seen, $bit)?;
                        out.$field = $read(s)?;
                    })*
                    _ => s.unknown(key)?,
                }
                Ok(())
            })?;
            $(self.require(seen, $mask, $missing)?;)?
            Ok(out)
        }
    };
}

impl<'a> Scanner<'a> {
    fn new(text: &'a [u8], objects: usize) -> Self {
        Scanner {
            text,
            pos: 0,
            depth: 0,
            in_any_value: 0,
            scratch: Vec::new(),
            attributes: Vec::new(),
            objects,
        }
    }

    /// The one value `read` reads, and nothing after it but whitespace.
    fn whole<T>(mut self, read: fn(&mut Self) -> Scan<T>) -> Scan<T> {
        let value = read(&mut self)?;
        if self.peek().is_some() {
            return Err(self.syntax("trailing characters"));
        }
        Ok(value)
    }

    #[cold]
    fn fail(&self, message: impl Into<Cow<'static, str>>) -> Box<Error> {
        Box::new(Error::at(self.text, self.pos, message.into(), false))
    }

    /// An error that is one of JSON itself (serde_json's syntax errors).
    #[cold]
    fn syntax(&self, message: impl Into<Cow<'static, str>>) -> Box<Error> {
        Box::new(Error::at(self.text, self.pos, message.into(), true))
    }

    /// Marks a field as read; a field read twice is refused (serde derive refuses it).
    fn once(&self, seen: &mut u32, bit: u32) -> Scan<()> {
        if *seen & (1 << bit) != 0 {
            return Err(self.fail("duplicate field"));
        }
        *seen |= 1 << bit;
        Ok(())
    }

    // -------------------------------------------------------------- JSON

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
    fn eat(&mut self, b: u8, what: &'static str) -> Scan<()> {
        match self.peek() {
            Some(got) if got == b => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.fail(what)),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        if self.depth >= DEPTH_LIMIT {
            return Err(self.syntax("recursion limit exceeded"));
        }
        Ok(())
    }

    /// An object; `field` is called with each key, positioned before its value, and must read it.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &[u8]) -> Scan<()>) -> Scan<()> {
        self.eat(b'{', "invalid type: expected an object")?;
        self.objects = self
            .objects
            .checked_sub(1)
            .ok_or_else(|| self.fail("more objects than decoding this text may take"))?;
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                if self.peek() != Some(b'"') {
                    return Err(self.syntax("key must be a string"));
                }
                let key = self.key()?;
                self.eat(b':', "expected `:`")?;
                field(self, &key)?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.syntax("expected `,` or `}`")),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array, `item` called on each element.
    fn elements(&mut self, mut item: impl FnMut(&mut Self) -> Scan<()>) -> Scan<()> {
        self.eat(b'[', "invalid type: expected an array")?;
        self.enter()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                item(self)?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.syntax("expected `,` or `]`")),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array of what `item` reads.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Scan<T>) -> Scan<Vec<T>> {
        let mut out = Vec::new();
        self.elements(|s| {
            out.push(item(s)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// An array of `KeyValue`s, gathered in a reused vector and then given one of their size
    /// (a span has a few dozen: growing its own vector would take several allocations).
    fn attributes(&mut self) -> Scan<Vec<KeyValue<'a>>> {
        // Taken while in use: attributes nested in a value gather in a vector of their own.
        let mut gathered = std::mem::take(&mut self.attributes);
        gathered.clear();
        let read = self.elements(|s| {
            gathered.push(s.key_value()?);
            Ok(())
        });
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

    /// A message that may be `null` (missing).
    fn nullable<T>(&mut self, read: fn(&mut Self) -> Scan<T>) -> Scan<Option<T>> {
        if self.null() {
            Ok(None)
        } else {
            read(self).map(Some)
        }
    }

    /// An object key, as raw bytes when it has no escapes (compared with ASCII names, so one
    /// that is not valid UTF-8 is unknown, and checked there).
    fn key(&mut self) -> Scan<Cow<'a, [u8]>> {
        let start = self.pos + 1;
        if let Some(end) = find_special(&self.text[start..]).map(|n| start + n)
            && self.text[end] == b'"'
        {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.text[start..end]));
        }
        Ok(match self.string()? {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        })
    }

    /// A string, borrowed unless it has escapes; checked as serde_json checks a `String`.
    fn string(&mut self) -> Scan<Text<'a>> {
        self.eat(b'"', "invalid type: expected a string")?;
        self.string_body()
    }

    /// A string's content and closing quote, from after its opening quote.
    #[inline]
    fn string_body(&mut self) -> Scan<Text<'a>> {
        let start = self.pos;
        let run = scan_run(&self.text[start..]);
        let Some(first) = run.end else {
            self.pos = self.text.len();
            return Err(self.syntax("EOF while parsing a string"));
        };
        let mut i = start + first;
        if self.text[i] == b'"' {
            self.pos = i + 1;
            return match utf8_after(&self.text[start..i], run.non_ascii.unwrap_or(first)) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(at) => {
                    self.pos = start + at;
                    Err(self.syntax("invalid unicode code point"))
                }
            };
        }
        // With escapes: the plain runs between them are copied sixteen bytes at a time (JSON
        // text in a JSON string has an escape every few bytes: no copy call for a short run).
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        out.extend_from_slice(&self.text[start..i]);
        // Up to here `out` holds whole characters: ASCII, or what escapes wrote.
        let mut valid = run.non_ascii.unwrap_or(first);
        let read = self.escaped(&mut out, &mut i, &mut valid);
        self.pos = i;
        let text = read.and_then(|()| match utf8_after(&out, valid) {
            Ok(s) => Ok(String::from(s)),
            Err(_) => Err(self.syntax("invalid unicode code point")),
        });
        self.scratch = out;
        text.map(Cow::Owned)
    }

    /// The rest of a string with escapes, from `i`, unescaped onto `out`; `i` ends after the
    /// closing quote (or where it failed). `valid` is how many bytes of `out` are known whole
    /// characters (ASCII or escaped), moved on while they are.
    fn escaped(&self, out: &mut Vec<u8>, i: &mut usize, valid: &mut usize) -> Scan<()> {
        let fail =
            |at: usize, message: &'static str| Box::new(Error::at(self.text, at, message.into(), true));
        loop {
            let from = out.len();
            let run = copy_run(&self.text[*i..], out);
            *i += out.len() - from;
            if *valid == from {
                *valid = run.non_ascii.map_or(out.len(), |n| from + n);
            }
            let Some(&b) = self.text.get(*i) else {
                return Err(fail(*i, "EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    *i += 1;
                    return Ok(());
                }
                b'\\' => {
                    let whole = *valid == out.len();
                    let escape = *self
                        .text
                        .get(*i + 1)
                        .ok_or_else(|| fail(*i + 1, "EOF while parsing a string"))?;
                    *i += 2;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape(i).map_err(|m| fail(*i, m))?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return Err(fail(*i - 1, "invalid escape")),
                    }
                    if whole {
                        *valid = out.len();
                    }
                }
                _ => {
                    return Err(fail(
                        *i,
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
            }
        }
    }

    /// The character of a `\u` escape whose four digits start at `i` (a surrogate pair takes
    /// the next escape too); lone surrogates are refused, as serde_json refuses them.
    fn unicode_escape(&self, i: &mut usize) -> Result<char, &'static str> {
        let code = self.hex4(*i)?;
        *i += 4;
        match code {
            0xD800..=0xDBFF => {
                if self.text.get(*i..*i + 2) != Some(b"\\u") {
                    return Err("lone leading surrogate in hex escape");
                }
                let low = self.hex4(*i + 2)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err("lone leading surrogate in hex escape");
                }
                *i += 6;
                let c = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                char::from_u32(c).ok_or("invalid unicode code point")
            }
            0xDC00..=0xDFFF => Err("lone trailing surrogate in hex escape"),
            _ => char::from_u32(code).ok_or("invalid unicode code point"),
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, &'static str> {
        let digits = self.text.get(at..at + 4).ok_or("EOF while parsing a string")?;
        let mut v = 0;
        for &d in digits {
            let n = (d as char).to_digit(16).ok_or("invalid escape")?;
            v = v * 16 + n;
        }
        Ok(v)
    }

    /// A plain non-negative integer: `0` or `[1-9][0-9]*`, within `u64`, not followed by a
    /// fraction or an exponent (those are floats to serde_json, refused where an integer is
    /// expected, as is an integer past `u64`).
    fn digits(&mut self) -> Scan<u64> {
        self.ws();
        let start = self.pos;
        let mut v: u64 = 0;
        let mut overflow = false;
        while let Some(&b) = self.text.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            match v.checked_mul(10).and_then(|v| v.checked_add(u64::from(b - b'0'))) {
                Some(next) => v = next,
                None => overflow = true,
            }
            self.pos += 1;
        }
        let n = self.pos - start;
        if n == 0 {
            return Err(match self.text.get(self.pos) {
                None => self.syntax("EOF while parsing a value"),
                Some(b'"' | b'{' | b'[' | b't' | b'f' | b'n' | b'-') => {
                    self.fail("invalid type: expected an integer")
                }
                Some(_) => self.syntax("expected value"),
            });
        }
        if n > 1 && self.text[start] == b'0' {
            return Err(self.syntax("invalid number"));
        }
        if overflow || matches!(self.text.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return Err(self.fail("invalid type: floating point, expected an integer"));
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
            return Err(self.fail("invalid type: floating point, expected an integer"));
        }
        Ok((v, negative))
    }

    fn u32(&mut self) -> Scan<u32> {
        let v = self.digits()?;
        u32::try_from(v).map_err(|_| self.fail("invalid value: integer out of range for u32"))
    }

    fn i32(&mut self) -> Scan<i32> {
        let (v, negative) = self.signed()?;
        let v = if negative {
            0i64.checked_sub_unsigned(v)
        } else {
            i64::try_from(v).ok()
        };
        v.and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| self.fail("invalid value: integer out of range for i32"))
    }

    /// A `fixed64` time: a plain integer, or a string `u64::from_str` reads (as the reference).
    fn unix_nano(&mut self) -> Scan<u64> {
        if self.peek() == Some(b'"') {
            return self.string()?.parse().map_err(|e| self.fail(format!("{e}")));
        }
        self.digits()
    }

    /// `intValue`: a plain integer within `i64`, or a string `i64::from_str` reads.
    fn int64(&mut self) -> Scan<i64> {
        if self.peek() == Some(b'"') {
            return self.string()?.parse().map_err(|e| self.fail(format!("{e}")));
        }
        let (v, negative) = self.signed()?;
        let v = if negative {
            0i64.checked_sub_unsigned(v)
        } else {
            i64::try_from(v).ok()
        };
        v.ok_or_else(|| self.fail("invalid value: integer out of range for i64"))
    }

    /// `doubleValue`: a JSON number (read to the nearest double, as serde_json's
    /// `float_roundtrip` does, and finite), or (proto3 JSON) `"NaN"`, `"Infinity"`,
    /// `"-Infinity"` or a number written as a string.
    fn double(&mut self) -> Scan<f64> {
        if self.peek() == Some(b'"') {
            let s = self.string()?;
            return match &*s {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                // A JSON number in quotes, read as serde_json reads numbers (exactly, finite).
                _ if s.trim_ascii() != s => Err(self.fail("not a number")),
                _ => match serde_json::from_str::<serde_json::Number>(&s) {
                    Ok(n) => n.as_f64().ok_or_else(|| self.fail("not a number")),
                    Err(e) => Err(self.fail(e.to_string())),
                },
            };
        }
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            return Err(self.fail("invalid type: expected a number"));
        }
        self.number()
    }

    /// A JSON number, as serde_json reads one into a value: its grammar checked and its value
    /// finite.
    fn number(&mut self) -> Scan<f64> {
        let start = self.pos;
        self.number_literal()?;
        let literal = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or_default();
        match literal.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.syntax("number out of range")),
        }
    }

    /// Skips a JSON number's text, checking its grammar only.
    fn number_literal(&mut self) -> Scan<()> {
        if self.text.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int = self.run_of_digits();
        if int == 0 || (int > 1 && self.text[self.pos - int] == b'0') {
            return Err(self.syntax("invalid number"));
        }
        if self.text.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.run_of_digits() == 0 {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.text.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.text.get(self.pos) {
                self.pos += 1;
            }
            if self.run_of_digits() == 0 {
                return Err(self.syntax("invalid number"));
            }
        }
        Ok(())
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
            Err(self.fail("invalid type: expected a boolean"))
        }
    }

    /// Hex id bytes, decoded as opentelemetry-proto decodes them (`const_hex::decode`: either
    /// case, an optional `0x`), kept inline up to 16 bytes.
    fn id(&mut self) -> Scan<Id> {
        let s = self.string()?;
        let digits = match s.as_bytes() {
            [b'0', b'x' | b'X', rest @ ..] => rest.len(),
            all => all.len(),
        };
        let decoded = if s.len() % 2 == 0 && digits <= 32 {
            let len = digits / 2;
            let mut bytes = [0; 16];
            // The same checks as `decode`: it strips the one prefix itself and wants `len` bytes.
            const_hex::decode_to_slice(&*s, &mut bytes[..len]).map(|()| Id::Inline {
                len: len as u8,
                bytes,
            })
        } else {
            const_hex::decode(&*s).map(Id::Heap)
        };
        decoded.map_err(|e| self.fail(e.to_string()))
    }

    fn owned_string(&mut self) -> Scan<String> {
        self.string().map(Cow::into_owned)
    }

    // -------------------------------------------------------------- unknown fields

    /// An unknown field's value. Outside an `AnyValue` it is skipped as serde derive skips it
    /// (JSON checked, strings not decoded, no nesting limit); inside one it is read in full, as
    /// the reference buffers an `AnyValue` whole: strings decoded and checked for UTF-8,
    /// numbers within range, nesting counted.
    fn unknown(&mut self, key: &[u8]) -> Scan<()> {
        if std::str::from_utf8(key).is_err() {
            return Err(self.syntax("invalid unicode code point"));
        }
        if self.in_any_value > 0 {
            self.value_in_full()
        } else {
            self.skip_value()
        }
    }

    fn value_in_full(&mut self) -> Scan<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(|s, key| {
                std::str::from_utf8(key).map_err(|_| s.syntax("invalid unicode code point"))?;
                s.value_in_full()
            }),
            Some(b'[') => self.elements(Self::value_in_full),
            Some(b't' | b'f') => self.bool().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ if self.null() => Ok(()),
            Some(_) => Err(self.syntax("expected value")),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    /// Skips one JSON value as serde_json's `IgnoredAny` does, without recursion (nesting has
    /// no limit there): the open arrays and objects are counted in `open`, one bit each.
    fn skip_value(&mut self) -> Scan<()> {
        let mut open: Vec<bool> = Vec::new(); // true: an object
        loop {
            // A value.
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    self.skip_string()?;
                }
                Some(b @ (b'{' | b'[')) => {
                    self.pos += 1;
                    let object = b == b'{';
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        open.push(object);
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                Some(b't' | b'f') => _ = self.bool()?,
                Some(b'-' | b'0'..=b'9') => self.number_literal()?,
                _ if self.null() => {}
                Some(_) => return Err(self.syntax("expected value")),
                None => return Err(self.syntax("EOF while parsing a value")),
            }
            // What follows it: the next element, or the end of enclosing ones.
            loop {
                let Some(&object) = open.last() else {
                    return Ok(());
                };
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {
                        self.pos += 1;
                        open.pop();
                    }
                    Some(b']') if !object => {
                        self.pos += 1;
                        open.pop();
                    }
                    Some(_) => return Err(self.syntax("expected `,` or a closing bracket")),
                    None => return Err(self.syntax("EOF while parsing a value")),
                }
            }
        }
    }

    /// A skipped object's key and its colon.
    fn skip_key(&mut self) -> Scan<()> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax("key must be a string"));
        }
        self.pos += 1;
        self.skip_string()?;
        self.eat(b':', "expected `:`")
    }

    /// The rest of a skipped string: escapes checked, control characters refused, UTF-8 not
    /// checked (serde_json's `ignore_str`).
    fn skip_string(&mut self) -> Scan<()> {
        loop {
            let Some(n) = find_special(&self.text[self.pos..]) else {
                self.pos = self.text.len();
                return Err(self.syntax("EOF while parsing a string"));
            };
            self.pos += n;
            match self.text[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.pos += 1;
                    match self.text.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                        Some(b'u') => {
                            self.hex4(self.pos + 1).map_err(|m| self.syntax(m))?;
                            self.pos += 5;
                        }
                        Some(_) => return Err(self.syntax("invalid escape")),
                        None => return Err(self.syntax("EOF while parsing a string")),
                    }
                }
                _ => {
                    return Err(
                        self.syntax("control character (\\u0000-\\u001F) found while parsing a string")
                    );
                }
            }
        }
    }

    // -------------------------------------------------------------- messages
    // (An `EntityRef` by opentelemetry-proto's rules for it: every field required.)

    message!(traces_request -> TracesRequest<'a> {
        b"resourceSpans" 0 => resource_spans: |s: &mut Self| s.array(Self::resource_spans),
    });

    message!(resource_spans -> ResourceSpans<'a> {
        b"resource" 0 => resource: |s: &mut Self| s.nullable(Self::resource),
        b"scopeSpans" 1 => scope_spans: |s: &mut Self| s.array(Self::scope_spans),
        b"schemaUrl" 2 => schema_url: Self::string,
    });

    message!(resource -> Resource<'a> {
        b"attributes" 0 => attributes: Self::attributes,
        b"droppedAttributesCount" 1 => dropped_attributes_count: Self::u32,
        b"entityRefs" 2 => entity_refs: |s: &mut Self| s.array(Self::entity_ref),
    });

    message!(scope_spans -> ScopeSpans<'a> {
        b"scope" 0 => scope: |s: &mut Self| s.nullable(Self::scope),
        b"spans" 1 => spans: |s: &mut Self| s.array(|s| s.span().map(Box::new)),
        b"schemaUrl" 2 => schema_url: Self::string,
    });

    message!(scope -> Scope<'a> {
        b"name" 0 => name: Self::string,
        b"version" 1 => version: Self::string,
        b"attributes" 2 => attributes: Self::attributes,
        b"droppedAttributesCount" 3 => dropped_attributes_count: Self::u32,
    });

    message!(span -> Span<'a> {
        b"traceId" 0 => trace_id: Self::id,
        b"spanId" 1 => span_id: Self::id,
        b"traceState" 2 => trace_state: Self::string,
        b"parentSpanId" 3 => parent_span_id: Self::id,
        b"flags" 4 => flags: Self::u32,
        b"name" 5 => name: Self::string,
        b"kind" 6 => kind: Self::i32,
        b"startTimeUnixNano" 7 => start_time_unix_nano: Self::unix_nano,
        b"endTimeUnixNano" 8 => end_time_unix_nano: Self::unix_nano,
        b"attributes" 9 => attributes: Self::attributes,
        b"droppedAttributesCount" 10 => dropped_attributes_count: Self::u32,
        b"events" 11 => events: |s: &mut Self| s.array(Self::event),
        b"droppedEventsCount" 12 => dropped_events_count: Self::u32,
        b"links" 13 => links: |s: &mut Self| s.array(Self::link),
        b"droppedLinksCount" 14 => dropped_links_count: Self::u32,
        b"status" 15 => status: |s: &mut Self| s.nullable(Self::status),
    });

    message!(event -> Event<'a> {
        b"timeUnixNano" 0 => time_unix_nano: Self::unix_nano,
        b"name" 1 => name: Self::string,
        b"attributes" 2 => attributes: Self::attributes,
        b"droppedAttributesCount" 3 => dropped_attributes_count: Self::u32,
    });

    message!(link -> Link<'a> {
        b"traceId" 0 => trace_id: Self::id,
        b"spanId" 1 => span_id: Self::id,
        b"traceState" 2 => trace_state: Self::string,
        b"attributes" 3 => attributes: Self::attributes,
        b"droppedAttributesCount" 4 => dropped_attributes_count: Self::u32,
        b"flags" 5 => flags: Self::u32,
    });

    message!(status -> Status<'a> {
        b"message" 0 => message: Self::string,
        b"code" 1 => code: Self::i32,
    });

    message!(logs_request -> LogsRequest<'a> {
        b"resourceLogs" 0 => resource_logs: |s: &mut Self| s.array(Self::resource_logs),
    });

    message!(resource_logs -> ResourceLogs<'a> {
        b"resource" 0 => resource: |s: &mut Self| s.nullable(Self::resource),
        b"scopeLogs" 1 => scope_logs: |s: &mut Self| s.array(Self::scope_logs),
        b"schemaUrl" 2 => schema_url: Self::string,
    });

    message!(scope_logs -> ScopeLogs<'a> {
        b"scope" 0 => scope: |s: &mut Self| s.nullable(Self::scope),
        b"logRecords" 1 => log_records: |s: &mut Self| s.array(Self::log_record),
        b"schemaUrl" 2 => schema_url: Self::string,
    });

    message!(log_record -> LogRecord<'a> {
        b"timeUnixNano" 0 => time_unix_nano: Self::unix_nano,
        b"observedTimeUnixNano" 1 => observed_time_unix_nano: Self::unix_nano,
        b"severityNumber" 2 => severity_number: Self::i32,
        b"severityText" 3 => severity_text: Self::string,
        b"body" 4 => body: |s: &mut Self| s.nullable(Self::any_value),
        b"attributes" 5 => attributes: Self::attributes,
        b"droppedAttributesCount" 6 => dropped_attributes_count: Self::u32,
        b"flags" 7 => flags: Self::u32,
        b"traceId" 8 => trace_id: Self::id,
        b"spanId" 9 => span_id: Self::id,
        b"eventName" 10 => event_name: Self::string,
    });

    message!(entity_ref -> EntityRef, required 0b1111 "missing field in an EntityRef" {
        b"schemaUrl" 0 => schema_url: Self::owned_string,
        b"type" 1 => r#type: Self::owned_string,
        b"idKeys" 2 => id_keys: |s: &mut Self| s.array(Self::owned_string),
        b"descriptionKeys" 3 => description_keys: |s: &mut Self| s.array(Self::owned_string),
    });

    fn require(&self, seen: u32, needed: u32, message: &'static str) -> Scan<()> {
        if seen & needed != needed {
            return Err(self.fail(message));
        }
        Ok(())
    }

    /// A `KeyValue`: most are written as every OTLP/JSON exporter writes them (see
    /// [`Scanner::compact_key_value`]), the rest are read in full.
    fn key_value(&mut self) -> Scan<KeyValue<'a>> {
        let start = self.pos;
        match self.compact_key_value() {
            Some(kv) => Ok(kv),
            None => {
                self.pos = start;
                self.any_key_value()
            }
        }
    }

    /// A `KeyValue` as the SDKs' and the Collector's OTLP/JSON encoders write one: compact, the
    /// key first, then a value of one scalar variant, `{"key":"k","value":{"stringValue":"v"}}`
    /// (or `intValue`, `boolValue`, `doubleValue`), read without the general object machinery.
    /// `None` (the position left anywhere) for any other shape or for anything the general read
    /// would refuse, which then reads it again and answers as always: the two objects are
    /// taken only when both fit in what may be read, and only within the nesting limit.
    #[inline]
    fn compact_key_value(&mut self) -> Option<KeyValue<'a>> {
        if !self.text[self.pos..].starts_with(b"{\"key\":\"")
            || self.objects < 2
            || self.depth + 2 >= DEPTH_LIMIT
        {
            return None;
        }
        self.pos += 8;
        let key = self.string_body().ok()?;
        let rest = &self.text[self.pos..];
        if !rest.starts_with(b",\"value\":{\"") {
            return None;
        }
        self.pos += 11;
        let rest = &self.text[self.pos..];
        let mut variant = |name: &[u8]| {
            let found = rest.starts_with(name);
            if found {
                self.pos += name.len();
            }
            found
        };
        let value = if variant(b"stringValue\":\"") {
            AnyValue::String(self.string_body().ok()?)
        } else if variant(b"intValue\":") {
            AnyValue::Int(self.int64().ok()?)
        } else if variant(b"boolValue\":") {
            AnyValue::Bool(self.bool().ok()?)
        } else if variant(b"doubleValue\":") {
            AnyValue::Double(self.double().ok()?)
        } else {
            return None;
        };
        if !self.text[self.pos..].starts_with(b"}}") {
            return None;
        }
        self.pos += 2;
        self.objects -= 2;
        Some(KeyValue {
            key,
            value: Some(value),
            key_strindex: 0,
        })
    }

    message!(any_key_value -> KeyValue<'a>, required 0b1 "missing field `key`" {
        b"key" 0 => key: Self::string,
        b"value" 1 => value: |s: &mut Self| s.nullable(Self::any_value),
        b"keyStrindex" 2 => key_strindex: Self::i32,
    });

    /// An `AnyValue` object: its variant (the last one given that is not `null`), or
    /// [`AnyValue::Empty`].
    fn any_value(&mut self) -> Scan<AnyValue<'a>> {
        self.in_any_value += 1;
        let mut value = AnyValue::Empty;
        let read = self.object(|s, key| {
            let known = matches!(
                key,
                b"stringValue"
                    | b"boolValue"
                    | b"intValue"
                    | b"doubleValue"
                    | b"arrayValue"
                    | b"kvlistValue"
                    | b"bytesValue"
            );
            if !known {
                return s.unknown(key);
            }
            if s.null() {
                return Ok(());
            }
            value = match key {
                b"stringValue" => AnyValue::String(s.string()?),
                b"boolValue" => AnyValue::Bool(s.bool()?),
                b"intValue" => AnyValue::Int(s.int64()?),
                b"doubleValue" => AnyValue::Double(s.double()?),
                b"arrayValue" => AnyValue::Array(s.values(Self::any_value)?),
                b"kvlistValue" => AnyValue::Kvlist(s.values(Self::key_value)?),
                _ => AnyValue::Bytes(s.bytes()?),
            };
            Ok(())
        });
        self.in_any_value -= 1;
        read.map(|()| value)
    }

    /// `bytesValue`: standard base64 with padding, as opentelemetry-proto reads it.
    fn bytes(&mut self) -> Scan<Vec<u8>> {
        use base64::Engine as _;
        let b64 = self.string()?;
        base64::engine::general_purpose::STANDARD
            .decode(&*b64)
            .map_err(|e| self.fail(e.to_string()))
    }

    /// An `ArrayValue` or `KeyValueList`: `{"values": [...]}` (required).
    fn values<T>(&mut self, item: fn(&mut Self) -> Scan<T>) -> Scan<Vec<T>> {
        let mut values = Vec::new();
        let mut seen = 0;
        self.object(|s, key| match key {
            b"values" => {
                s.once(&mut seen, 0)?;
                values = s.array(item)?;
                Ok(())
            }
            _ => s.unknown(key),
        })?;
        self.require(seen, 1, "missing field `values`")?;
        Ok(values)
    }
}
