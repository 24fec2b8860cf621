//! Byte-level helpers shared by the hand-written JSON readers (OTLP/JSON requests,
//! OTel GenAI message arrays).

/// Flags (high bit of the byte) the bytes of `x`, eight bytes little-endian, that end a run of
/// plain string content: `"`, `\\` and control characters (below 0x20). The lowest flag is
/// exact: a borrow can only set flags above a true one.
#[inline]
pub fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (x.wrapping_sub(ONES * 0x20) & !x))
        & HIGH
}

/// Index of the first `"`, `\\` or control character, eight bytes at a time.
#[inline]
pub fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let chunk: [u8; 8] = chunk.try_into().unwrap_or_default();
        let found = special_bytes(u64::from_le_bytes(chunk));
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| i + p)
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
}
