//! Lenient readings of attribute values: numbers may arrive as int, double or string, booleans as
//! strings, and nothing here panics on odd input.

use crate::model::record::Value;

/// A finite number from an int, double or numeric string. Booleans are not numbers: `true` is
/// no token count, cost or duration (scores read booleans themselves, see `score_of`).
pub fn as_f64(v: &Value) -> Option<f64> {
    let f = match v {
        Value::Int(i) => *i as f64,
        Value::Double(d) => *d,
        Value::Str(_) | Value::Sym(_) => v.as_str()?.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// A count: non-negative, whole (doubles are rounded), saturating at u64::MAX.
pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::Str(_) | Value::Sym(_) => {
            let s = v.as_str()?.trim();
            s.parse::<u64>()
                .ok()
                .or_else(|| count_from_f64(s.parse::<f64>().ok()?))
        }
        _ => count_from_f64(as_f64(v)?),
    }
}

/// A count from a float: non-negative and finite, rounded, saturating at u64::MAX.
pub fn count_from_f64(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0).then(|| f.round().min(u64::MAX as f64) as u64)
}

pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(i) => Some(*i != 0),
        Value::Str(_) | Value::Sym(_) => match v.as_str()?.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-empty string value.
pub fn as_text(v: &Value) -> Option<&str> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// A label such as a route, tenant or prompt version: text, or a number printed (Langfuse sends
/// prompt versions as ints).
pub fn as_label(v: &Value) -> Option<String> {
    match v {
        Value::Int(i) => Some(i.to_string()),
        Value::Double(d) if d.is_finite() => Some(d.to_string()),
        _ => as_text(v).map(str::to_string),
    }
}

/// Parses a JSON object carried as a string attribute (metadata, invocation parameters, cost
/// details). Anything else, or invalid JSON, is `None`.
pub fn json_object(v: &Value) -> Option<serde_json::Map<String, serde_json::Value>> {
    let s = v.as_str()?.trim();
    if !s.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(s).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A JSON number, or a string holding one.
pub fn json_f64(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

/// A JSON scalar as text (strings as they are, numbers and booleans printed).
pub fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses an RFC 3339 / ISO 8601 UTC timestamp (`2026-11-27T07:17:49.123456Z`, `+00:00` offsets
/// too) or a number of epoch nanoseconds, milliseconds or seconds; returns unix nanoseconds.
pub fn timestamp_nanos(v: &Value) -> Option<u64> {
    if let Some(n) = as_f64(v) {
        // Pick the unit by magnitude: seconds ~1e9, milliseconds ~1e12, nanoseconds ~1e18.
        let nanos = if n > 1e17 {
            n
        } else if n > 1e11 {
            n * 1e6
        } else {
            n * 1e9
        };
        return count_from_f64(nanos);
    }
    // Langfuse sends its timestamps JSON-encoded: `"\"2026-12-07T04:20:00.123Z\""`.
    parse_rfc3339(v.as_str()?.trim().trim_matches('"'))
}

fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac_nanos = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        let frac = &r[..digits];
        for (i, c) in frac.bytes().take(9).enumerate() {
            frac_nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
        }
        rest = &r[digits..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            // `get`, not indexing: six bytes of wire input need not be six characters.
            let part = |r: std::ops::Range<usize>| o.get(r)?.parse::<i64>().ok();
            sign * (part(1..3)? * 3600 + part(4..6)? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac_nanos as u64)
}

/// A JSON object or array re-indented two spaces a level, with keys in the order sent and
/// numbers as written; `None` for anything else, or for JSON that does not parse.
pub fn pretty_json(text: &str) -> Option<String> {
    let t = text.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(t).ok()?;
    let mut out = String::with_capacity(t.len() + t.len() / 2);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                out.push(c);
                if let Some(close) = chars.next_if(|n| matches!(n, '}' | ']')) {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Case-insensitive substring test; `needle` is already lowercased. An ASCII needle is compared
/// byte by byte without allocating (non-ASCII haystack bytes can never equal its bytes; the rare
/// non-ASCII characters whose lowercase is ASCII, like the Kelvin sign, are not folded), at the
/// places where its first byte occurs in either case (found by `memchr`, many bytes at a time).
/// A non-ASCII needle lowercases the haystack.
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        let Some(&first) = n.first() else {
            return true;
        };
        let Some(last_start) = h.len().checked_sub(n.len()) else {
            return false;
        };
        let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
        memchr::memchr2_iter(lower, upper, &h[..=last_start]).any(|i| {
            h[i..i + n.len()]
                .iter()
                .zip(n)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn contains_ci_agrees_with_a_window_by_window_comparison() {
        let naive = |h: &str, n: &str| {
            let (h, n) = (h.as_bytes(), n.as_bytes());
            n.is_empty()
                || (h.len() >= n.len()
                    && h.windows(n.len())
                        .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b)))
        };
        let haystacks = [
            "",
            "j",
            "J",
            "json",
            "JSON",
            "xJsOn",
            "Respond in JSON only",
            "jso",
            "js on",
            "jjson",
            "[{\"a\": 1}]",
            "Zürich JSON",
            "ÄJSON",
            "json\n",
            "a-b_c",
            "ab",
        ];
        let needles = [
            "", "j", "json", "JSON", "jsonx", "son", "-b_", "[{", "n", "ab", "abc",
        ];
        for h in haystacks {
            for n in needles {
                assert_eq!(contains_ci(h, n), naive(h, n), "{h:?} {n:?}");
            }
        }
    }

    #[test]
    fn numbers_arrive_in_any_form() {
        assert_eq!(as_u64(&Value::Int(16)), Some(16));
        assert_eq!(as_u64(&s(" 16 ")), Some(16));
        assert_eq!(as_u64(&s("16.0")), Some(16));
        assert_eq!(as_u64(&Value::Double(15.6)), Some(16));
        assert_eq!(as_u64(&Value::Int(-3)), None);
        assert_eq!(as_u64(&s("lots")), None);
        assert_eq!(as_u64(&Value::Double(f64::NAN)), None);
        assert_eq!(as_f64(&s("0.25")), Some(0.25));
        assert_eq!(as_f64(&s("inf")), None);
        assert_eq!(as_bool(&s("True")), Some(true));
        assert_eq!(as_bool(&Value::Int(0)), Some(false));
    }

    #[test]
    fn timestamps_parse_as_unix_nanos() {
        assert_eq!(timestamp_nanos(&s("1970-01-01T00:00:01Z")), Some(1_000_000_000));
        assert_eq!(
            timestamp_nanos(&s("2026-11-27T07:17:49.5Z")),
            Some(1_795_763_869_500_000_000)
        );
        assert_eq!(
            timestamp_nanos(&s("2026-11-27T08:17:49.5+01:00")),
            Some(1_795_763_869_500_000_000)
        );
        assert_eq!(
            timestamp_nanos(&Value::Int(1_795_763_869_500)),
            Some(1_795_763_869_500_000_000)
        );
        assert_eq!(timestamp_nanos(&s("yesterday")), None);
        assert_eq!(timestamp_nanos(&s("2026-13-01T00:00:00Z")), None);
    }

    #[test]
    fn json_objects_only() {
        assert!(json_object(&s(r#"{"a": 1}"#)).is_some());
        assert!(json_object(&s("[1]")).is_none());
        assert!(json_object(&s("{broken")).is_none());
        assert_eq!(json_f64(&serde_json::json!("0.5")), Some(0.5));
    }
}
