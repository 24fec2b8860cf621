//! Byte-level helpers shared by the hand-written readers: OTLP/JSON requests, OTel GenAI message
//! arrays, and the UTF-8 check of OTLP/protobuf strings.

/// Flags (high bit of the byte) the bytes of `x`, eight bytes little-endian, that end a run of
/// plain string content: `"`, `\\` and control characters (below 0x20). The lowest flag is
/// exact: a borrow can only set flags above a true one.
#[inline]
fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (x.wrapping_sub(ONES * 0x20) & !x))
        & HIGH
}

/// Index of the first `"`, `\\` or control character.
#[inline]
pub fn find_special(bytes: &[u8]) -> Option<usize> {
    scan_run(bytes).end
}

/// How a run of string bytes ends: where the first `"`, `\\` or control character is (the
/// run's length when there is none), and where the first non-ASCII byte before it is (`None`:
/// the run is ASCII, so valid UTF-8 without a further look).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub end: Option<usize>,
    pub non_ascii: Option<usize>,
}

/// The run of plain string bytes at the start of `bytes`, sixteen bytes at a time (SSE2, which
/// every x86-64 has), the tail and other targets eight at a time: one pass that both finds the
/// end and tells whether the run needs a UTF-8 check.
#[inline]
pub fn scan_run(bytes: &[u8]) -> Run {
    run_with(bytes, |_| {})
}

/// [`scan_run`], the run's bytes also pushed onto `out`.
#[inline]
pub fn copy_run(bytes: &[u8], out: &mut Vec<u8>) -> Run {
    let len = out.len();
    let run = run_with(bytes, |chunk| out.extend_from_slice(chunk));
    out.truncate(len + run.end.unwrap_or(bytes.len()));
    run
}

/// The scan behind both: `chunk` is given every piece of bytes looked at, whole (up to
/// sixteen bytes; its special byte and what follows included), before the run ends in it.
#[inline(always)]
fn run_with(bytes: &[u8], mut chunk: impl FnMut(&[u8])) -> Run {
    let mut i = 0;
    let mut non_ascii = usize::MAX;
    #[cfg(target_arch = "x86_64")]
    while let Some(sixteen) = bytes.get(i..i + 16) {
        let sixteen: &[u8; 16] = sixteen.try_into().unwrap_or(&[0; 16]);
        chunk(sixteen);
        let (special, high) = sse2::masks(sixteen);
        if high != 0 && non_ascii == usize::MAX {
            non_ascii = i + high.trailing_zeros() as usize;
        }
        if special != 0 {
            return Run::ending(i + special.trailing_zeros() as usize, non_ascii);
        }
        i += 16;
    }
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(eight) = bytes.get(i..i + 8) {
        let eight: &[u8; 8] = eight.try_into().unwrap_or(&[0; 8]);
        chunk(eight);
        let x = u64::from_le_bytes(*eight);
        let high = x & HIGH;
        if high != 0 && non_ascii == usize::MAX {
            non_ascii = i + (high.trailing_zeros() / 8) as usize;
        }
        let special = special_bytes(x);
        if special != 0 {
            return Run::ending(i + (special.trailing_zeros() / 8) as usize, non_ascii);
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        chunk(&bytes[i..=i]);
        if b == b'"' || b == b'\\' || b < 0x20 {
            return Run::ending(i, non_ascii);
        }
        if b >= 0x80 && non_ascii == usize::MAX {
            non_ascii = i;
        }
        i += 1;
    }
    Run {
        end: None,
        non_ascii: (non_ascii != usize::MAX).then_some(non_ascii),
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// Bit mask of the sixteen bytes from 0x80.
    #[inline(always)]
    pub(super) fn high(bytes: &[u8; 16]) -> u32 {
        // SAFETY: SSE2 is part of x86-64 itself, and the unaligned load reads the sixteen bytes
        // of `bytes`.
        unsafe { _mm_movemask_epi8(_mm_loadu_si128(bytes.as_ptr().cast())) as u32 }
    }

    /// Bit masks of sixteen bytes: the special ones (`"`, `\\`, control characters) and the
    /// non-ASCII ones.
    #[inline(always)]
    pub(super) fn masks(bytes: &[u8; 16]) -> (u32, u32) {
        // SAFETY: SSE2 is part of x86-64 itself (every such CPU has it), and the unaligned load
        // reads the sixteen bytes of `bytes`.
        unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast());
            let high = _mm_movemask_epi8(v) as u32;
            // Signed: below 0x20 are the control characters and every byte from 0x80 (which
            // `high` takes back out).
            let below = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let special = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), below));
            (special as u32 & !high, high)
        }
    }
}

impl Run {
    fn ending(end: usize, non_ascii: usize) -> Run {
        Run {
            end: Some(end),
            non_ascii: (non_ascii < end).then_some(non_ascii),
        }
    }
}

/// `bytes` as text (`Err`: the index of the first byte that is not valid UTF-8). ASCII, what
/// most telemetry strings are, is told sixteen bytes at a time; only what follows the first
/// non-ASCII byte goes through the full check.
#[inline]
pub fn utf8(bytes: &[u8]) -> Result<&str, usize> {
    utf8_after(bytes, first_non_ascii(bytes).unwrap_or(bytes.len()))
}

/// Index of the first byte from 0x80.
#[inline]
pub fn first_non_ascii(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(sixteen) = bytes.get(i..i + 16) {
        let high = sse2::high(sixteen.try_into().unwrap_or(&[0; 16]));
        if high != 0 {
            return Some(i + high.trailing_zeros() as usize);
        }
        i += 16;
    }
    while let Some(eight) = bytes.get(i..i + 8) {
        let high = u64::from_le_bytes(eight.try_into().unwrap_or_default()) & 0x8080_8080_8080_8080;
        if high != 0 {
            return Some(i + (high.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b >= 0x80).map(|p| i + p)
}

/// `bytes` as text, of which the first `valid` bytes are known to be whole UTF-8 characters
/// (ASCII a scan saw, characters an escape wrote): only the rest is checked. On error, the
/// index of the first byte that is not valid UTF-8.
#[inline]
pub fn utf8_after(bytes: &[u8], valid: usize) -> Result<&str, usize> {
    match std::str::from_utf8(&bytes[valid..]) {
        // SAFETY: whole characters followed by valid UTF-8 are valid UTF-8.
        Ok(_) => Ok(unsafe { std::str::from_utf8_unchecked(bytes) }),
        Err(e) => Err(valid + e.valid_up_to()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_special_byte_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    // Bytes that must not count: high ones (UTF-8), and neighbours of the specials.
                    for (i, b) in bytes.iter_mut().enumerate() {
                        *b = [b'a', 0xc3, 0xa9, b'!', b'#', b' ', 0x7f, b']'][i % 8];
                    }
                    bytes[at] = special;
                    if at + 1 < len {
                        bytes[at + 1] = b'"';
                    }
                    assert_eq!(find_special(&bytes), Some(at), "{len} {at} {special}");
                }
            }
            assert_eq!(find_special(&vec![0xe2; len]), None);
        }
    }

    /// What [`scan_run`] must find, a byte at a time.
    fn reference(bytes: &[u8]) -> Run {
        let end = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let non_ascii = bytes[..end.unwrap_or(bytes.len())]
            .iter()
            .position(|&b| b >= 0x80);
        Run { end, non_ascii }
    }

    #[test]
    fn a_run_ends_and_has_its_first_non_ascii_byte_where_a_byte_at_a_time_finds_them() {
        // Plain bytes mostly, around every kind of byte the scan tells apart: the quote, the
        // backslash, control characters and their neighbours, DEL and bytes from 0x80 (UTF-8's
        // leading and continuation bytes and 0xff), at every length and offset past the
        // sixteen- and eight-byte steps.
        const RARE: [u8; 12] = [
            b'"', b'\\', 0x00, 0x1f, b'\n', b' ', b'!', 0x7f, 0x80, 0xc3, 0xa9, 0xff,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % 70) as usize;
            let rare_one_in = [2, 8, 40][round % 3];
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % rare_one_in == 0 {
                        RARE[(r >> 8) as usize % RARE.len()]
                    } else {
                        b'a' + (r >> 16) as u8 % 26
                    }
                })
                .collect();
            let want = reference(&bytes);
            assert_eq!(scan_run(&bytes), want, "{bytes:?}");
            let mut out = b"before".to_vec();
            assert_eq!(copy_run(&bytes, &mut out), want, "{bytes:?}");
            assert_eq!(out[6..], bytes[..want.end.unwrap_or(len)], "{bytes:?}");
        }
    }

    #[test]
    fn the_first_non_ascii_byte_and_text_checked_from_it_at_every_offset() {
        for len in 0..50 {
            assert_eq!(first_non_ascii(&vec![b'a'; len]), None);
            assert_eq!(utf8(&vec![b'a'; len]), Ok("a".repeat(len).as_str()));
            for at in 0..len {
                for (b, ok) in [(0x80, false), (0xc3, false), (0xff, false)] {
                    let mut bytes = vec![0x7f; len];
                    bytes[at] = b;
                    assert_eq!(first_non_ascii(&bytes), Some(at), "{len} {at}");
                    assert_eq!(utf8(&bytes).is_ok(), ok, "{len} {at}");
                    assert_eq!(
                        utf8(&bytes),
                        std::str::from_utf8(&bytes).map_err(|e| e.valid_up_to())
                    );
                }
                let mut text = "a".repeat(at);
                text.push('\u{e9}');
                text.push_str(&"b".repeat(len - at));
                assert_eq!(utf8(text.as_bytes()), Ok(text.as_str()));
            }
        }
    }

    #[test]
    fn text_is_checked_after_the_part_known_to_be_whole_characters() {
        assert_eq!(utf8_after(b"plain", 5), Ok("plain"));
        assert_eq!(utf8_after("caf\u{e9} ok".as_bytes(), 3), Ok("caf\u{e9} ok"));
        // An escape's character before, then a broken sequence: refused where it starts.
        assert_eq!(utf8_after(b"\xc3\xa9ab\xc3(", 2), Err(4));
        assert_eq!(utf8_after(b"ab\xff", 0), Err(2));
    }
}
