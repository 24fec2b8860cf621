//! Secrets inside values: a prompt that pastes an API key, a log body quoting a connection
//! string. Key-based redaction ([`super::content::redact`]) cannot see these, so every string
//! value that is recorded, copied, exported, shown or sent to an external evaluator is also
//! scanned for well-known credential shapes, and only the secret part is replaced by
//! [`REDACTED`]; the text around it stays.
//!
//! | shape | matched | replaced |
//! |---|---|---|
//! | OpenAI / Anthropic key | `sk-` (`sk-proj-`, `sk-ant-`, ...) + 20 or more of `[A-Za-z0-9_-]` holding a digit or capital | the whole key |
//! | AWS access key id | `AKIA` / `ASIA` + exactly 16 of `[A-Z0-9]` | the whole id |
//! | GitHub token | `ghp_` `gho_` `ghu_` `ghs_` `ghr_` + 30 or more alphanumerics; `github_pat_` + 22 or more of `[A-Za-z0-9_]` | the whole token |
//! | Slack token | `xoxb-` `xoxp-` `xoxa-` `xoxr-` `xoxs-` `xapp-` + 10 or more of `[A-Za-z0-9-]` holding a digit | the whole token |
//! | Bearer token | `Bearer` / `bearer`, spaces, then 16 or more token characters holding a digit or capital | the token (the word stays) |
//! | URL password | `scheme://user:password@host` | the password (`postgres://u:[redacted]@host`) |
//!
//! A shape must start at a word boundary (`task-force` holds no `sk-` key), also right after a
//! JSON escape such as `\n`. The scan is one pass per trigger byte with `memchr` (`-`, `_`, `:`
//! together, then `A`, then `earer`), and allocates nothing when nothing matches: most values
//! are plain prose, and the recorder asks about every one. No regex crate: the shapes are fixed
//! prefixes and character classes, and BENCHMARKS.md has the figure.

use memchr::memmem;
use std::ops::Range;

/// What replaces a secret, whole values (by key) and parts of values (by shape) alike.
pub const REDACTED: &str = "[redacted]";

/// `s` with every secret shape replaced by [`REDACTED`], or `None` when it holds none.
pub fn redact_secrets(s: &str) -> Option<String> {
    let mut found: Vec<Range<usize>> = Vec::new();
    find(s.as_bytes(), &mut |r| found.push(r));
    if found.is_empty() {
        return None;
    }
    found.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for r in found {
        if r.start < at {
            // Overlapping shapes (a Bearer token that is also an `sk-` key): one marker.
            at = at.max(r.end);
            continue;
        }
        out.push_str(&s[at..r.start]);
        out.push_str(REDACTED);
        at = r.end;
    }
    out.push_str(&s[at..]);
    Some(out)
}

/// Whether `s` holds a secret shape (no allocation).
pub fn has_secret(s: &str) -> bool {
    let mut any = false;
    find(s.as_bytes(), &mut |_| any = true);
    any
}

/// Reports the byte range of every secret in `b`. Ranges are ASCII-delimited, so they fall on
/// char boundaries of the `str` the bytes came from.
fn find(b: &[u8], report: &mut impl FnMut(Range<usize>)) {
    for i in memchr::memchr3_iter(b'-', b'_', b':', b) {
        match b[i] {
            b'-' => {
                if let Some(start) = prefix_before(b, i, &[b"sk"])
                    && let end = run(b, i + 1, is_key_char)
                    && end - (i + 1) >= 20
                    && b[i + 1..end]
                        .iter()
                        .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                {
                    report(start..end);
                }
                if let Some(start) =
                    prefix_before(b, i, &[b"xoxb", b"xoxp", b"xoxa", b"xoxr", b"xoxs", b"xapp"])
                    && let end = run(b, i + 1, |c| c.is_ascii_alphanumeric() || c == b'-')
                    && end - (i + 1) >= 10
                    && b[i + 1..end].iter().any(u8::is_ascii_digit)
                {
                    report(start..end);
                }
            }
            b'_' => {
                if let Some(start) = prefix_before(b, i, &[b"ghp", b"gho", b"ghu", b"ghs", b"ghr"])
                    && let end = run(b, i + 1, |c| c.is_ascii_alphanumeric())
                    && end - (i + 1) >= 30
                {
                    report(start..end);
                }
                if let Some(start) = prefix_before(b, i, &[b"github_pat"])
                    && let end = run(b, i + 1, |c| c.is_ascii_alphanumeric() || c == b'_')
                    && end - (i + 1) >= 22
                {
                    report(start..end);
                }
            }
            _ => {
                if let Some(password) = url_password(b, i) {
                    report(password);
                }
            }
        }
    }
    for i in memchr::memchr_iter(b'A', b) {
        let id = i + 4..i + 20;
        if (b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA"))
            && at_boundary(b, i)
            && b.len() >= id.end
            && b[id.clone()]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && b.get(id.end).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            report(i..id.end);
        }
    }
    for e in memmem::find_iter(b, b"earer") {
        let Some(i) = e.checked_sub(1) else { continue };
        if !matches!(b[i], b'B' | b'b') || !at_boundary(b, i) {
            continue;
        }
        let start = run(b, i + 6, |c| c == b' ');
        if start == i + 6 {
            continue;
        }
        let end = run(b, start, |c| c.is_ascii_alphanumeric() || b"-._~+/".contains(&c));
        let end = run(b, end, |c| c == b'=');
        if end - start >= 16
            && b[start..end]
                .iter()
                .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            report(start..end);
        }
    }
}

/// `[A-Za-z0-9_-]`: what OpenAI and Anthropic keys are made of.
fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// The end of the run of bytes from `from` that satisfy `ok`.
fn run(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    from + b
        .get(from..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| ok(c)).count())
}

/// The start of whichever of `prefixes` ends at `i` (exclusive), when it starts a word.
fn prefix_before(b: &[u8], i: usize, prefixes: &[&[u8]]) -> Option<usize> {
    prefixes.iter().find_map(|p| {
        let start = i.checked_sub(p.len())?;
        (&b[start..i] == *p && at_boundary(b, start)).then_some(start)
    })
}

/// Whether a word starts at `i`: at the start, after a non-alphanumeric byte, or after a JSON
/// escape (`\n`, `\t`, ...) whose letter would otherwise look like part of the word.
fn at_boundary(b: &[u8], i: usize) -> bool {
    match i {
        0 => true,
        1 => !b[0].is_ascii_alphanumeric(),
        _ => {
            !b[i - 1].is_ascii_alphanumeric()
                || (b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b't' | b'r' | b'b' | b'f'))
        }
    }
}

/// For the `:` of a `scheme://`, the password of `user:password@` after it, if any. The
/// authority ends at the path, query, fragment, whitespace or a quote; its userinfo at the last
/// `@` before that (a raw `@` in a password is then still covered).
fn url_password(b: &[u8], colon: usize) -> Option<Range<usize>> {
    if !b[colon..].starts_with(b"://") || colon == 0 || !b[colon - 1].is_ascii_alphabetic() {
        return None;
    }
    let from = colon + 3;
    let stop = run(b, from, |c| {
        !(c.is_ascii_whitespace() || b"/?#\"'<>\\`".contains(&c))
    });
    let at = from + memchr::memrchr(b'@', &b[from..stop])?;
    let sep = from + memchr::memchr(b':', &b[from..at])?;
    let password = sep + 1..at;
    (!password.is_empty() && &b[password.clone()] != REDACTED.as_bytes()).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each shape, several real-looking examples, in sentences, at the start and end, beside
    /// punctuation and inside JSON-escaped text: (input, expected).
    const REDACTS: &[(&str, &str)] = &[
        // OpenAI and Anthropic keys.
        (
            "my key is sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5Ab7cD9eF1gH3i ok?",
            "my key is [redacted] ok?",
        ),
        ("sk-4fQ9zL2mXw8RkT1vB6nC3pY7sD0aE5gH2jK9", "[redacted]"),
        ("use (sk-svcacct-abcdefghij0123456789KLMNO).", "use ([redacted])."),
        (
            "key=sk-ant-api03-R2D2c3p0_Xw-Yz0123456789abcdefABCDEF-xyzQAA",
            "key=[redacted]",
        ),
        (
            "ANTHROPIC_API_KEY=\"sk-ant-admin01-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c\"",
            "ANTHROPIC_API_KEY=\"[redacted]\"",
        ),
        (
            r#"{\"messages\":[{\"content\":\"call with sk-abcdefghijklmnopqrstuvwxyz0123456789\"}]}"#,
            r#"{\"messages\":[{\"content\":\"call with [redacted]\"}]}"#,
        ),
        (r"line one\nsk-ABCDEFGHIJKLMNOPQRSTUVWX1", r"line one\n[redacted]"),
        // AWS access key ids.
        ("AKIAIOSFODNN7EXAMPLE", "[redacted]"),
        (
            "aws_access_key_id = ASIAY34FZKBOKMUTVV7A, region us-east-1",
            "aws_access_key_id = [redacted], region us-east-1",
        ),
        ("(AKIA2OGYBAH6STMMNXNN)", "([redacted])"),
        // GitHub tokens.
        (
            "git clone https://ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8@github.com/x/y",
            "git clone https://[redacted]@github.com/x/y",
        ),
        (
            "token: gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "token: [redacted]",
        ),
        ("ghu_abcdefghijklmnopqrstuvwxyz0123456789.", "[redacted]."),
        ("ghs_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ1234", "[redacted]"),
        ("ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1", "[redacted]"),
        (
            "GITHUB_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789abcdefghijklmn end",
            "GITHUB_TOKEN=[redacted] end",
        ),
        // Slack tokens.
        (
            "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx here",
            "slack [redacted] here",
        ),
        ("xoxp-2417-8871-99120-af31c0d9e", "[redacted]"),
        ("'xoxa-2-abcdefghij1234' ", "'[redacted]' "),
        ("xoxr-0123456789abcdef", "[redacted]"),
        ("xapp-1-A0123456789-0123456789012-abcdef", "[redacted]"),
        // Bearer tokens: the word stays, the token goes.
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "Authorization: Bearer [redacted]",
        ),
        (
            r#"{\"authorization\": \"bearer 0a1b2c3d4e5f6a7b8c9d\"}"#,
            r#"{\"authorization\": \"bearer [redacted]\"}"#,
        ),
        (
            "curl -H 'Bearer  abcDEF0123456789xyz=='",
            "curl -H 'Bearer  [redacted]'",
        ),
        // Passwords in URLs: the user and host stay.
        (
            "connect to postgres://app:s3cr3t-P%40ss@db.internal:5432/prod now",
            "connect to postgres://app:[redacted]@db.internal:5432/prod now",
        ),
        ("redis://:hunter2@cache:6379", "redis://:[redacted]@cache:6379"),
        (
            "\"mongodb+srv://admin:p@ss:w0rd@cluster0.example.net/?retryWrites=true\"",
            "\"mongodb+srv://admin:[redacted]@cluster0.example.net/?retryWrites=true\"",
        ),
        ("https://u:pw@example.com", "https://u:[redacted]@example.com"),
        // Several in one value.
        (
            "AKIAIOSFODNN7EXAMPLE and sk-abcdefghijklmnopqrstu1 and amqp://guest:guest@mq",
            "[redacted] and [redacted] and amqp://guest:[redacted]@mq",
        ),
    ];

    /// Text that looks a little like a secret and must stay as it is.
    const KEEPS: &[&str] = &[
        "a skeleton crew",
        "the task-force met",
        "risk-assessment-for-the-quarterly-planning-cycle-1",
        "sk-learn is not a key",
        "sk-short1",
        "the prefix AKIA alone, or AKIA1234 too short, or AKIAIOSFODNN7EXAMPLEX too long",
        "XAKIAIOSFODNN7EXAMPLE",
        "Bearer of bad news",
        "the bearer instrument-of-the-month-club",
        "Bearer token",
        "https://example.com/path?q=1",
        "https://user@example.com/repo.git",
        "mailto:someone@example.com and someone@example.com",
        "ftp://host:21/file",
        "a time like 10:03:12 and a ratio 3:2",
        "ghp_short and github_pat_ too",
        "xoxb-no-digits-here-at-all",
        "postgres://app:[redacted]@db/prod",
        "desk-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
        "",
    ];

    #[test]
    fn every_shape_is_replaced_and_the_text_around_kept() {
        for (input, want) in REDACTS {
            assert_eq!(redact_secrets(input).as_deref(), Some(*want), "{input}");
            assert!(has_secret(input), "{input}");
            // Once redacted, nothing is left to find.
            assert_eq!(redact_secrets(want), None, "{want}");
        }
    }

    #[test]
    fn ordinary_text_is_not_touched() {
        for input in KEEPS {
            assert_eq!(redact_secrets(input), None, "{input}");
            assert!(!has_secret(input), "{input}");
        }
    }

    #[test]
    fn non_ascii_around_secrets_is_kept() {
        assert_eq!(
            redact_secrets("clé: «sk-ÄbcdefghijklmnopqrstuvwxyZ1» → ok").as_deref(),
            None,
            "a non-ASCII byte ends the key before it is long enough"
        );
        assert_eq!(
            redact_secrets("clé «sk-abcdefghijklmnopqrstuvwxyZ1» → ok").as_deref(),
            Some("clé «[redacted]» → ok")
        );
    }
}
