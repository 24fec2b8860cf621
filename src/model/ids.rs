//! Trace and span ids as fixed arrays, with the validation OTLP asks for: 16 and 8 bytes, not all
//! zero.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

/// Why an id was refused; the message goes back to the exporter in `partial_success`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    WrongLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    AllZero {
        what: &'static str,
    },
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { what, expected, got } => {
                write!(f, "{what} must be {expected} bytes, got {got}")
            }
            Self::AllZero { what } => write!(f, "{what} must not be all zeros"),
        }
    }
}

fn parse_fixed<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], IdError> {
    let arr: [u8; N] = bytes.try_into().map_err(|_| IdError::WrongLength {
        what,
        expected: N,
        got: bytes.len(),
    })?;
    if arr.iter().all(|b| *b == 0) {
        return Err(IdError::AllZero { what });
    }
    Ok(arr)
}

impl TraceId {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        parse_fixed(bytes, "trace_id").map(Self)
    }

    /// A trace id as typed: 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut bytes = [0u8; 16];
        const_hex::decode_to_slice(s.trim(), &mut bytes).ok()?;
        Self::from_bytes(&bytes).ok()
    }
}

impl SpanId {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        parse_fixed(bytes, "span_id").map(Self)
    }

    /// A parent id is optional: empty (or all zeros, which some SDKs send) means root.
    pub fn parent_from_bytes(bytes: &[u8]) -> Result<Option<Self>, IdError> {
        if bytes.is_empty() || (bytes.len() == 8 && bytes.iter().all(|b| *b == 0)) {
            return Ok(None);
        }
        parse_fixed(bytes, "parent_span_id").map(|a| Some(Self(a)))
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// The leading hex digits of a trace id, as a person types them (`--open`, the filter's
/// `trace:`): 8 to 32 of them, kept in lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceIdPrefix(String);

impl TraceIdPrefix {
    /// Fewest hex digits taken: fewer would match too many traces to be a way to one.
    pub const MIN: usize = 8;

    /// The digits of `s` (surrounding space ignored, either case), or why they are not a prefix.
    pub fn parse(s: &str) -> Result<Self, String> {
        let digits = s.trim().to_ascii_lowercase();
        if digits.len() < Self::MIN || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("takes {} to 32 hex digits of a trace id", Self::MIN));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id itself, when all 32 digits were given.
    pub fn whole(&self) -> Option<TraceId> {
        TraceId::from_hex(&self.0)
    }

    pub fn matches(&self, id: &TraceId) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.0.bytes().enumerate().all(|(i, c)| {
            let b = id.0[i / 2];
            HEX[usize::from(if i % 2 == 0 { b >> 4 } else { b & 0xf })] == c
        })
    }
}

impl fmt::Display for TraceIdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_takes_eight_to_thirty_two_hex_digits_and_matches_the_ids_it_begins() {
        let id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        let p = |s: &str| TraceIdPrefix::parse(s);
        assert!(p("0af76519").unwrap().matches(&id));
        assert!(p(" 0AF7651916CD43DD ").unwrap().matches(&id));
        assert!(!p("0af76518").unwrap().matches(&id));
        assert_eq!(p("0af7651916cd43dd8448eb211c80319c").unwrap().whole(), Some(id));
        assert_eq!(p("0af76519").unwrap().whole(), None);
        assert_eq!(p("0af76519").unwrap().to_string(), "0af76519");
        for bad in ["0af7651", "", "0af7651x", "0af7651916cd43dd8448eb211c80319c0"] {
            assert_eq!(
                p(bad).unwrap_err(),
                "takes 8 to 32 hex digits of a trace id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ids_are_validated() {
        assert!(TraceId::from_bytes(&[1; 16]).is_ok());
        assert_eq!(
            TraceId::from_bytes(&[]).unwrap_err(),
            IdError::WrongLength {
                what: "trace_id",
                expected: 16,
                got: 0
            }
        );
        assert_eq!(
            SpanId::from_bytes(&[0; 8]).unwrap_err(),
            IdError::AllZero { what: "span_id" }
        );
        assert_eq!(SpanId::parent_from_bytes(&[]).unwrap(), None);
        assert_eq!(SpanId::parent_from_bytes(&[0; 8]).unwrap(), None);
        assert!(SpanId::parent_from_bytes(&[1; 7]).is_err());
    }

    #[test]
    fn ids_print_as_lowercase_hex() {
        let id = SpanId([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 0xff]);
        assert_eq!(id.to_string(), "deadbeef000102ff");
    }
}
