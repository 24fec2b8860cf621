//! Shorter spellings of a model name to fall back on when the exact name is not in the table:
//! `claude-3-5-sonnet@20240620` -> `claude-3-5-sonnet`, `gpt-4o-2024-08-06` -> `gpt-4o`,
//! `claude-sonnet-4-6-20260217` -> `claude-sonnet-4-6`, `gpt-4-0613` -> `gpt-4`,
//! `mistral-large-latest` -> `mistral-large`. Each is a prefix of the name, so no allocation.

/// Calls `f` with `name` and then each shorter spelling, most specific first, until it returns
/// `Some`. `name` is lowercase.
pub(crate) fn first_variant<T>(name: &str, mut f: impl FnMut(&str) -> Option<T>) -> Option<T> {
    if let Some(found) = f(name) {
        return Some(found);
    }
    let mut current = name;
    for strip in [strip_at_version, strip_latest, strip_date] {
        if let Some(shorter) = strip(current) {
            current = shorter;
            if let Some(found) = f(current) {
                return Some(found);
            }
        }
    }
    None
}

/// Vertex AI's `model@version` (`@20240620`, `@001`, `@latest`), in the last path segment only:
/// Cloudflare's `@cf/...` is part of the model's path.
fn strip_at_version(name: &str) -> Option<&str> {
    let segment_start = name.rfind('/').map_or(0, |i| i + 1);
    let at = name[segment_start..].rfind('@')? + segment_start;
    (at > segment_start).then(|| &name[..at])
}

fn strip_latest(name: &str) -> Option<&str> {
    name.strip_suffix("-latest")
        .or_else(|| name.strip_suffix(":latest"))
        .filter(|s| !s.is_empty())
}

/// `-2024-08-06`, `-20241022`, `-0613`: a dated snapshot of the name before it.
fn strip_date(name: &str) -> Option<&str> {
    let (stem, suffix) = name.rsplit_once('-')?;
    if stem.is_empty() {
        return None;
    }
    // `-YYYY-MM-DD` splits as stem `...-YYYY-MM` and suffix `DD`.
    if suffix.len() == 2 && is_day(suffix) {
        let (stem2, month) = stem.rsplit_once('-')?;
        let (stem3, year) = stem2.rsplit_once('-')?;
        return (is_year(year) && is_month(month) && !stem3.is_empty()).then_some(stem3);
    }
    // Digits only before slicing by bytes: `-1é8` is four bytes too.
    if !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dated = match suffix.len() {
        8 => is_year(&suffix[..4]) && is_month(&suffix[4..6]) && is_day(&suffix[6..]),
        4 => is_month(&suffix[..2]) && is_day(&suffix[2..]),
        _ => false,
    };
    dated.then_some(stem)
}

fn number(s: &str) -> Option<u32> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn is_year(s: &str) -> bool {
    s.len() == 4 && number(s).is_some_and(|y| (2020..2100).contains(&y))
}

fn is_month(s: &str) -> bool {
    s.len() == 2 && number(s).is_some_and(|m| (1..=12).contains(&m))
}

fn is_day(s: &str) -> bool {
    s.len() == 2 && number(s).is_some_and(|d| (1..=31).contains(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(name: &str) -> Vec<String> {
        let mut seen = Vec::new();
        first_variant::<()>(name, |v| {
            seen.push(v.to_string());
            None
        });
        seen
    }

    #[test]
    fn names_with_multibyte_characters_do_not_panic() {
        // A four-byte suffix that is not four characters (found by replay's decoder fuzzing).
        assert_eq!(all("gpt-4o-1é8"), ["gpt-4o-1é8"]);
        assert_eq!(all("m-é2024108"), ["m-é2024108"]);
        assert_eq!(all("m-2024-08-é"), ["m-2024-08-é"]);
    }

    #[test]
    fn dated_and_versioned_names_shorten() {
        assert_eq!(all("gpt-4o-2024-08-06"), ["gpt-4o-2024-08-06", "gpt-4o"]);
        assert_eq!(
            all("claude-3-5-sonnet-20241022"),
            ["claude-3-5-sonnet-20241022", "claude-3-5-sonnet"]
        );
        assert_eq!(all("gpt-4-0613"), ["gpt-4-0613", "gpt-4"]);
        assert_eq!(
            all("claude-3-5-sonnet@20240620"),
            ["claude-3-5-sonnet@20240620", "claude-3-5-sonnet"]
        );
        assert_eq!(
            all("mistral-large@latest"),
            ["mistral-large@latest", "mistral-large"]
        );
        assert_eq!(
            all("mistral-large-latest"),
            ["mistral-large-latest", "mistral-large"]
        );
        assert_eq!(all("llama3:latest"), ["llama3:latest", "llama3"]);
        assert_eq!(
            all("gemini-2.5-pro-preview-05-06"),
            ["gemini-2.5-pro-preview-05-06"]
        );
    }

    #[test]
    fn things_that_only_look_like_dates_stay() {
        for name in [
            "gpt-4o",
            "mistral-large-2411", // YYMM, not MMDD
            "llama-3.1-8b",
            "cloudflare/@cf/meta/llama-3-8b",
            "@20240620",
            "-latest",
            "-0613",
            "text-embedding-3-small",
            "model-1999-01-01",
            "qwen-2024-13-01",
        ] {
            assert_eq!(all(name), [name], "{name}");
        }
    }

    #[test]
    fn stops_at_the_first_hit() {
        let mut calls = 0;
        let hit = first_variant("gpt-4o-2024-08-06", |v| {
            calls += 1;
            (v == "gpt-4o-2024-08-06").then_some(1)
        });
        assert_eq!((hit, calls), (Some(1), 1));
    }
}
