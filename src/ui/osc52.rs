//! Copying to the clipboard with the OSC 52 terminal sequence, which works over ssh: the
//! terminal on the user's desk, not the machine llmwatch runs on, takes the text.

use std::io::{self, Write};

/// Longest text [`copy`] sends. Terminals cap OSC 52 payloads (xterm and tmux around 100 KB of
/// base64 and less, some far lower) and drop longer ones silently, so a longer text is refused
/// with an error the caller can show, rather than copied to nowhere.
pub const MAX_BYTES: usize = 100_000;

const ESC: char = '\x1b';
const BEL: char = '\x07';

/// The OSC 52 sequence that asks the terminal to put `text` on the clipboard:
/// ESC ] 52 ; c ; <base64 of text> BEL. Inside tmux (env TMUX set) wrap it in tmux's DCS
/// passthrough (ESC P tmux; <sequence with every ESC doubled> ESC \) so it reaches the outer terminal.
///
/// tmux forwards the passthrough only with `set -g allow-passthrough on` (tmux 3.3 and later);
/// with `set-clipboard on` it also takes the plain sequence itself.
pub fn sequence(text: &str, in_tmux: bool) -> String {
    let osc = format!("{ESC}]52;c;{}{BEL}", base64(text.as_bytes()));
    if !in_tmux {
        return osc;
    }
    let doubled = osc.replace(ESC, "\x1b\x1b");
    format!("{ESC}Ptmux;{doubled}{ESC}\\")
}

/// Whether the process runs inside tmux (the `TMUX` environment variable is set), for
/// [`sequence`] and [`copy`].
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// Writes the sequence to `out` and flushes. Texts over 100,000 bytes are refused with an error
/// (many terminals drop long OSC 52 payloads) — the caller says so on screen.
pub fn copy(out: &mut impl Write, text: &str, in_tmux: bool) -> io::Result<()> {
    if text.len() > MAX_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "too long to copy through the terminal ({} bytes; at most {MAX_BYTES})",
                text.len()
            ),
        ));
    }
    out.write_all(sequence(text, in_tmux).as_bytes())?;
    out.flush()
}

/// Standard base64 (RFC 4648 alphabet, `=` padding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            // A chunk of k bytes fills k + 1 characters; the rest is padding.
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_the_plain_osc52_sequence() {
        assert_eq!(sequence("hello", false), "\x1b]52;c;aGVsbG8=\x07");
        assert_eq!(sequence("hello", false).as_bytes(), b"\x1b]52;c;aGVsbG8=\x07");
    }

    #[test]
    fn base64_pads_to_whole_quads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"abcd"), "YWJjZA==");
        assert_eq!(sequence("", false), "\x1b]52;c;\x07");
    }

    #[test]
    fn base64_of_utf8_and_every_byte_value() {
        // printf 'héllo wörld ✓ 🦀' | base64
        assert_eq!(
            base64("héllo wörld ✓ 🦀".as_bytes()),
            "aMOpbGxvIHfDtnJsZCDinJMg8J+mgA=="
        );
        // The characters the alphabet ends with.
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert_eq!(base64(&[0, 0, 0]), "AAAA");
    }

    #[test]
    fn inside_tmux_the_sequence_is_passed_through_with_esc_doubled() {
        assert_eq!(
            sequence("hello", true),
            "\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\"
        );
        assert_eq!(
            sequence("hello", true).as_bytes(),
            b"\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\"
        );
    }

    #[test]
    fn copy_writes_and_flushes_and_refuses_long_texts() {
        let mut out = Vec::new();
        copy(&mut out, "hello", false).unwrap();
        assert_eq!(out, b"\x1b]52;c;aGVsbG8=\x07");

        let mut out = Vec::new();
        let limit = "x".repeat(MAX_BYTES);
        copy(&mut out, &limit, true).unwrap();
        assert!(out.starts_with(b"\x1bPtmux;\x1b\x1b]52;c;eHh4"));

        let mut out = Vec::new();
        let err = copy(&mut out, &"x".repeat(MAX_BYTES + 1), false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("100001 bytes"), "{err}");
        assert!(out.is_empty(), "nothing is written");
    }
}
