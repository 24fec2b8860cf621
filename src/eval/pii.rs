//! The `pii_leak` scanner: email addresses, phone numbers and payment card numbers in text, found
//! by hand-written byte scanners (no regex), one left-to-right pass, no allocation unless
//! something is found. What is found is only counted and masked; the text itself never leaves.
//!
//! HEURISTIC rules (tuned against what model answers contain: order ids, dates, times, versions,
//! IP addresses, ISBNs, epoch timestamps, amounts):
//!
//! - **Email**: `local@domain.tld`; local part of `A-Z a-z 0-9 . _ % + -` (not starting with a
//!   dot), domain of two or more labels of `A-Z a-z 0-9 -`, the last (the TLD) 2–24 ASCII letters
//!   and not a file extension (`logo@2x.png` and `lodash@4.17.21` are no addresses).
//! - **Numbers** are read as a run: an optional leading `+`, digit groups joined by single
//!   separators (space, `-`, `.`), one group optionally in parentheses (`(555) 123-4567`,
//!   `+44 (0)20 7946 0958`). A run must stand alone: not preceded by a letter, digit or any of
//!   ``_ . - / + @ # $ % & = \``, and not followed by a letter, digit, `_` or `@`, nor by one of
//!   `- . / : ,` and a digit (so `2026-11-28 10:30`, `v1.2.3.4`, `3.14159…` and ids inside paths
//!   or URLs are never candidates). Runs of more than 19 digits are nothing.
//! - **Card number**: 13–19 digits, no `+` or parentheses, either ungrouped or grouped with one
//!   kind of separator (space or dash) as 4-4-4-4(-1..3), 4-4-4-1..4 or 4-6-5 / 4-6-4 (Amex,
//!   Diners); a known network prefix and length (Visa 4: 13/16/19; Amex 34/37: 15; Mastercard
//!   51–55 and 2221–2720: 16; Discover, JCB, Diners, UnionPay 6/35/30/36/38/39/62: 14–19); not
//!   all one digit; Luhn-valid. Epoch timestamps and snowflake ids (which start with 1) and a
//!   Luhn-invalid 16-digit number are not cards.
//! - **Phone number** (when the run is not a card): 9–15 digits in all, and
//!   - with a leading `+` (international): any grouping, separators optional (`+4915112345678`);
//!   - without: at least two groups (a plain digit run such as the product id `123456789012` is
//!     never a phone); groups after the first have 2–8 digits (or are parenthesised), the first
//!     at most 5; two groups only with a leading `0` trunk prefix or parentheses (`030-1234567`,
//!     `07700 900123`, `(030) 12345678`); dot-separated only as ddd.ddd.dddd (2–4, 3–4, 4 digits:
//!     no IP addresses or versions); not a thousands grouping (`1 234 567 890`: four or more
//!     groups, all but the first exactly 3 digits); one-digit inner groups mean an ISBN-like code
//!     (`978-3-16-148410-0`), not a phone.

/// What a scan found: counts per kind and, for each kind, the first finding masked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub emails: u32,
    pub phones: u32,
    pub cards: u32,
    pub email_mask: Option<String>,
    pub phone_mask: Option<String>,
    pub card_mask: Option<String>,
}

impl Findings {
    pub fn is_clean(&self) -> bool {
        self.emails == 0 && self.phones == 0 && self.cards == 0
    }

    /// What was found, for an explanation: `email address (a***@***.com) and 2 phone numbers
    /// (***67)`. Empty when clean.
    pub fn describe(&self) -> String {
        let kinds = [
            (self.emails, "email address", "email addresses", &self.email_mask),
            (self.phones, "phone number", "phone numbers", &self.phone_mask),
            (self.cards, "card number", "card numbers", &self.card_mask),
        ];
        let parts: Vec<String> = kinds
            .iter()
            .filter(|(n, ..)| *n > 0)
            .map(|(n, one, many, mask)| {
                let what = if *n == 1 {
                    one.to_string()
                } else {
                    format!("{n} {many}")
                };
                match mask {
                    Some(m) => format!("{what} ({m})"),
                    None => what,
                }
            })
            .collect();
        match parts.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

/// Scans `text` for emails, phone numbers and card numbers.
pub fn scan(text: &str) -> Findings {
    let b = text.as_bytes();
    let mut f = Findings::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'@' {
            if let Some((start, end)) = email_at(b, i) {
                f.emails += 1;
                if f.email_mask.is_none() {
                    f.email_mask = Some(mask_email(&b[start..end], i - start));
                }
                i = end;
                continue;
            }
        } else if (c.is_ascii_digit() || c == b'+' || c == b'(') && starts_run(b, i) {
            let run = NumberRun::parse(b, i);
            match run.classify() {
                Some(Kind::Card) => {
                    f.cards += 1;
                    if f.card_mask.is_none() {
                        f.card_mask = Some(format!("****{}", run.last_digits(4)));
                    }
                }
                Some(Kind::Phone) => {
                    f.phones += 1;
                    if f.phone_mask.is_none() {
                        f.phone_mask = Some(format!("***{}", run.last_digits(2)));
                    }
                }
                None => {}
            }
            i = run.end.max(i + 1);
            continue;
        }
        i += 1;
    }
    f
}

// ---- email ----

fn is_local_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_label_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// File extensions that follow `name@2x` in asset names: such a "TLD" is no address.
const FILE_EXTENSIONS: [&str; 16] = [
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "ts", "json", "txt", "md", "pdf", "html",
    "zip",
];

/// The email whose `@` is at `at`: its byte range.
fn email_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > 0 && is_local_byte(b[start - 1]) {
        start -= 1;
    }
    // A local part neither empty nor starting with a dot (`..@` is prose, not an address).
    while start < at && b[start] == b'.' {
        start += 1;
    }
    if start == at {
        return None;
    }
    // Domain labels: `label(.label)+`, the last one letters only.
    let mut j = at + 1;
    let mut labels = 0;
    let mut last_label = (j, j);
    loop {
        let ls = j;
        while j < b.len() && is_label_byte(b[j]) {
            j += 1;
        }
        if j == ls || b[ls] == b'-' || b[j - 1] == b'-' {
            // An empty or dash-edged label ends the domain before it.
            break;
        }
        labels += 1;
        last_label = (ls, j);
        if j + 1 < b.len() && b[j] == b'.' && is_label_byte(b[j + 1]) {
            j += 1;
            continue;
        }
        break;
    }
    if labels < 2 {
        return None;
    }
    let tld = &b[last_label.0..last_label.1];
    if !(2..=24).contains(&tld.len()) || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    if FILE_EXTENSIONS
        .iter()
        .any(|e| e.as_bytes().eq_ignore_ascii_case(tld))
    {
        return None;
    }
    Some((start, last_label.1))
}

/// `alice.smith@example.co.uk` → `a***@***.uk`.
fn mask_email(email: &[u8], at: usize) -> String {
    let first = email[0] as char;
    let tld_start = email.iter().rposition(|&c| c == b'.').unwrap_or(at);
    let tld = String::from_utf8_lossy(&email[tld_start + 1..]);
    format!("{first}***@***.{tld}")
}

// ---- numbers ----

/// Whether a number run may start at `i`: nothing word-like or numeric-structural before it.
fn starts_run(b: &[u8], i: usize) -> bool {
    let next_is_digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    match b[i] {
        b'+' | b'(' if !next_is_digit(i + 1) => return false,
        _ => {}
    }
    i == 0 || {
        let p = b[i - 1];
        !(p.is_ascii_alphanumeric() || b"_.-/+@#$%&=\\".contains(&p))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Card,
    Phone,
}

const MAX_DIGITS: usize = 19;
const MAX_GROUPS: usize = 8;

/// One parsed run of digit groups.
#[derive(Debug)]
struct NumberRun {
    end: usize,
    plus: bool,
    digits: [u8; MAX_DIGITS],
    n_digits: usize,
    groups: [u8; MAX_GROUPS],
    n_groups: usize,
    /// Index of the parenthesised group, if any.
    paren_group: Option<usize>,
    spaces: bool,
    dashes: bool,
    dots: bool,
    /// More digits or groups than any card or phone has.
    overflow: bool,
    /// Malformed (an unclosed parenthesis) or part of a larger token: nothing, but skipped whole.
    rejected: bool,
}

impl NumberRun {
    /// Reads the run at `i` (see the module docs). A malformed run (an unclosed parenthesis)
    /// or one followed by something that makes it part of a larger token is `rejected`; either
    /// way `end` is where scanning resumes, so no tail of a rejected run becomes a candidate.
    fn parse(b: &[u8], i: usize) -> Self {
        let mut r = NumberRun {
            end: i,
            plus: false,
            digits: [0; MAX_DIGITS],
            n_digits: 0,
            groups: [0; MAX_GROUPS],
            n_groups: 0,
            paren_group: None,
            spaces: false,
            dashes: false,
            dots: false,
            overflow: false,
            rejected: false,
        };
        let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
        let mut j = i;
        if b[j] == b'+' {
            r.plus = true;
            j += 1;
        }
        loop {
            let paren = b.get(j) == Some(&b'(');
            if paren {
                if r.paren_group.is_some() {
                    break;
                }
                j += 1;
            }
            let start = j;
            while digit(j) {
                if r.n_digits < MAX_DIGITS {
                    r.digits[r.n_digits] = b[j] - b'0';
                    r.n_digits += 1;
                } else {
                    r.overflow = true;
                }
                j += 1;
            }
            if j == start {
                r.rejected = true;
                r.end = r.end.max(j);
                return r;
            }
            if r.n_groups < MAX_GROUPS {
                r.groups[r.n_groups] = (j - start).min(255) as u8;
            } else {
                r.overflow = true;
            }
            if paren {
                if b.get(j) != Some(&b')') {
                    r.rejected = true;
                    r.end = j;
                    return r;
                }
                r.paren_group = Some(r.n_groups);
                j += 1;
            }
            r.n_groups += 1;
            r.end = j;
            // A separator counts only when another group follows it.
            let mut k = j;
            let sep = b.get(k).copied().filter(|c| matches!(c, b' ' | b'-' | b'.'));
            if sep.is_some() {
                k += 1;
            }
            let group_follows = digit(k) || (b.get(k) == Some(&b'(') && digit(k + 1));
            if !group_follows || (sep.is_none() && !paren) {
                break;
            }
            match sep {
                Some(b' ') => r.spaces = true,
                Some(b'-') => r.dashes = true,
                Some(b'.') => r.dots = true,
                _ => {}
            }
            j = k;
        }
        // What follows must end the token.
        let after = b.get(r.end).copied();
        let part_of_more = match after {
            Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'@' => true,
            Some(b'-' | b'.' | b'/' | b':' | b',') => digit(r.end + 1),
            _ => false,
        };
        r.rejected = part_of_more;
        r
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.n_digits]
    }

    fn groups(&self) -> &[u8] {
        &self.groups[..self.n_groups.min(MAX_GROUPS)]
    }

    fn last_digits(&self, n: usize) -> String {
        let d = self.digits();
        d[d.len().saturating_sub(n)..]
            .iter()
            .map(|&x| char::from(b'0' + x))
            .collect()
    }

    fn classify(&self) -> Option<Kind> {
        if self.overflow || self.rejected {
            return None;
        }
        if self.is_card() {
            Some(Kind::Card)
        } else if self.is_phone() {
            Some(Kind::Phone)
        } else {
            None
        }
    }

    fn is_card(&self) -> bool {
        let d = self.digits();
        if self.plus || self.paren_group.is_some() || self.dots || !(13..=19).contains(&d.len()) {
            return false;
        }
        if self.spaces && self.dashes {
            return false;
        }
        let g = self.groups();
        let grouped_ok = match g {
            [_] => true,
            [4, 6, 5] | [4, 6, 4] => true,
            [init @ .., last] if g.len() >= 3 => init.iter().all(|&x| x == 4) && (1..=4).contains(last),
            _ => false,
        };
        grouped_ok && network_accepts(d) && !d.iter().all(|&x| x == d[0]) && luhn(d)
    }

    fn is_phone(&self) -> bool {
        let n = self.n_digits;
        if !(9..=15).contains(&n) {
            return false;
        }
        if self.plus {
            return true;
        }
        let g = self.groups();
        if g.len() < 2 || g[0] > 5 {
            return false;
        }
        let inner_ok = g
            .iter()
            .enumerate()
            .skip(1)
            .all(|(k, &len)| (2..=8).contains(&len) || self.paren_group == Some(k));
        if !inner_ok {
            return false;
        }
        if self.dots {
            let dots_only = !self.spaces && !self.dashes && self.paren_group.is_none();
            return dots_only
                && g.len() == 3
                && (2..=4).contains(&g[0])
                && (3..=4).contains(&g[1])
                && g[2] == 4;
        }
        if g.len() == 2 && self.paren_group.is_none() && self.digits[0] != 0 {
            return false;
        }
        let thousands =
            g.len() >= 4 && g[0] <= 3 && g[1..].iter().all(|&x| x == 3) && self.paren_group.is_none();
        !thousands
    }
}

/// Whether the digits start with a card network's prefix and have one of its lengths.
fn network_accepts(d: &[u8]) -> bool {
    let prefix = |n: usize| d.iter().take(n).fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    let len = d.len();
    match d[0] {
        4 => matches!(len, 13 | 16 | 19),
        3 => match prefix(2) {
            34 | 37 => len == 15,
            35 | 36 | 38 | 39 => (14..=19).contains(&len),
            30 => (300..=305).contains(&prefix(3)) && (14..=19).contains(&len),
            _ => false,
        },
        5 => (51..=55).contains(&prefix(2)) && len == 16,
        2 => (2221..=2720).contains(&prefix(4)) && len == 16,
        6 => {
            let ok =
                prefix(4) == 6011 || prefix(2) == 65 || prefix(2) == 62 || (644..=649).contains(&prefix(3));
            ok && (14..=19).contains(&len)
        }
        _ => false,
    }
}

/// The Luhn checksum: every second digit from the right doubled.
fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &x)| {
            let x = u32::from(x);
            if k % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> (u32, u32, u32) {
        let f = scan(text);
        (f.emails, f.phones, f.cards)
    }

    #[test]
    fn emails_are_found_and_masked() {
        let f = scan("Write to alice.smith+shop@example.co.uk or bob@mail.example.com.");
        assert_eq!(f.emails, 2);
        assert_eq!(f.email_mask.as_deref(), Some("a***@***.uk"));
        assert_eq!(f.describe(), "2 email addresses (a***@***.uk)");
        assert!(!f.describe().contains("alice"));
    }

    #[test]
    fn email_lookalikes_are_not_emails() {
        for text in [
            "see logo@2x.png",
            "install lodash@4.17.21",
            "ping @alice on chat",
            "user@localhost",
            "a@b.c",
            "the @ sign",
            "x@-bad.com",
            "trailing@",
            "@example.com",
        ] {
            assert_eq!(kinds(text), (0, 0, 0), "{text}");
        }
    }

    #[test]
    fn phones_in_common_formats_are_found() {
        for text in [
            "Call +1 555 123 4567 today",
            "Call +1 (555) 123-4567.",
            "Call (555) 123-4567",
            "Call 555-123-4567, thanks",
            "Call 555.123.4567",
            "Call 555 123 4567",
            "Call 1-800-555-1234",
            "Ruf an: +49 151 12345678",
            "Ruf an: +4915112345678",
            "Ruf an: 030-1234567",
            "Ruf an: 0151 12345678",
            "Ring 07700 900123",
            "Ring +44 (0)20 7946 0958",
            "Appelez le 06 12 34 56 78",
            "tel:+33612345678",
            "電話：03-1234-5678",
        ] {
            let f = scan(text);
            assert_eq!((f.emails, f.phones, f.cards), (0, 1, 0), "{text}");
        }
        let f = scan("Call 555-123-4567");
        assert_eq!(f.phone_mask.as_deref(), Some("***67"));
        assert_eq!(f.describe(), "phone number (***67)");
    }

    #[test]
    fn ids_timestamps_versions_and_amounts_are_not_phones() {
        for text in [
            "product id 123456789012",
            "order 5551234567",
            "at 1700000000000 ms",
            "on 2026-11-28 10:30:00",
            "on 2026-11-28T10:30:00.123456789Z",
            "on 28.11.2026",
            "version 10.0.19041.1234",
            "host 192.168.100.200",
            "ISBN 978-3-16-148410-0",
            "population 1 234 567 890",
            "total 1.234.567.890",
            "from 2019 to 2024 we grew 123456",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "see /orders/555-123-4567/items",
            "ref #555-123-4567",
            "pi is 3.14159265358979",
            "order A-1042 ships 2026-11-28",
            "+123",
            "(555)",
            "555 123456",
        ] {
            assert_eq!(kinds(text), (0, 0, 0), "{text}");
        }
    }

    #[test]
    fn luhn_valid_cards_are_found_and_masked() {
        for text in [
            "card 4111 1111 1111 1111 on file",
            "card 4111-1111-1111-1111",
            "card 4111111111111111",
            "amex 3782 822463 10005",
            "amex 378282246310005",
            "mc 5555 5555 5555 4444",
            "mc 2223 0031 2200 3222",
            "discover 6011 1111 1111 1117",
            "visa13 4222222222222",
        ] {
            let f = scan(text);
            assert_eq!((f.emails, f.phones, f.cards), (0, 0, 1), "{text}");
        }
        let f = scan("card 4111 1111 1111 1111");
        assert_eq!(f.card_mask.as_deref(), Some("****1111"));
        assert_eq!(f.describe(), "card number (****1111)");
    }

    #[test]
    fn card_lookalikes_are_not_cards() {
        for text in [
            // Luhn-invalid.
            "card 4111 1111 1111 1112",
            "number 1234 5678 9012 3456",
            "number 1234567890123456",
            // Luhn-valid but no network prefix: epoch ns, snowflake ids.
            "at 1700000000000000000 ns",
            "id 1234567812345670",
            // All one digit.
            "0000 0000 0000 0000",
            // Odd grouping or mixed separators.
            "4111 11111111 1111",
            "4111-1111 1111-1111",
            // Too long.
            "41111111111111111111111",
        ] {
            assert_eq!(kinds(text), (0, 0, 0), "{text}");
        }
    }

    #[test]
    fn several_kinds_are_described_together() {
        let f = scan("Mail a@b.io, call +1 555 123 4567 or 555-987-6543, card 4111111111111111.");
        assert_eq!((f.emails, f.phones, f.cards), (1, 2, 1));
        assert_eq!(
            f.describe(),
            "email address (a***@***.io), 2 phone numbers (***67) and card number (****1111)"
        );
        assert!(scan("").is_clean());
        assert_eq!(scan("nothing here").describe(), "");
    }

    #[test]
    fn odd_bytes_never_panic() {
        for text in [
            "@",
            "+",
            "(",
            "(1",
            "(12)",
            "1-",
            "+(",
            "@@@",
            "a@",
            "é@ü.de",
            "1 2 3 4 5 6 7 8 9 0 1 2",
            "((1)) 2",
            "+1 (",
            "x@y.",
            "x@y.-",
            "x@y..com",
        ] {
            let _ = scan(text);
        }
        let long: String = "9".repeat(100);
        assert!(scan(&long).is_clean());
    }
}
