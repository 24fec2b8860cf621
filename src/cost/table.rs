//! The price table: loading, name matching, and the lookup cache.
//!
//! Matching a span's (provider, model) to an entry, case-insensitively and trimmed:
//! 1. user prices first, for every spelling below, then the bundled table;
//! 2. spellings: the model as sent; without a provider prefix it carries (`openai/gpt-4o` ->
//!    `gpt-4o`, which also names the provider when the span does not); its last path segment;
//!    each of those shortened by [`names::first_variant`] (`@version`, `-latest`, date);
//! 3. for each spelling: `{prefix}/{spelling}` keys of the span's provider (`azure/gpt-4o`,
//!    `gemini/gemini-2.5-pro`), then the spelling as a key if its provider is the span's, then
//!    prefixed keys ending in the spelling served by the span's provider (`azure/eu/gpt-4o`),
//!    then the spelling as a key whoever serves it, and, only when the span names no provider we
//!    know, prefixed keys ending in the spelling if they all agree on the price.

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use foldhash::{HashMap, HashMapExt};
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use super::names::first_variant;
use super::price::{Price, Tier, Usage, price_usage};
use super::provider::{self, ProviderRef};

const BUNDLED: &str = include_str!("prices.json");

/// The lookup cache forgets everything past this many distinct model strings, so spans with
/// endless made-up model names cannot grow it without bound.
const CACHE_MAX_MODELS: usize = 4_096;
/// Distinct provider strings remembered per model string.
const CACHE_MAX_PROVIDERS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("price table is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
}

/// Where the bundled prices came from (the `_source` entry of `prices.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TableSource {
    pub litellm_version: String,
    pub sha256: String,
}

/// The entry a lookup settled on: useful to show *why* a call is priced as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceMatch<'a> {
    /// The table key, lowercase (`gpt-4o`, `azure/gpt-4o`), or the model a user priced.
    pub key: &'a str,
    /// LiteLLM's `litellm_provider` of the entry, lowercase; for a user price, the provider it
    /// is restricted to, if any.
    pub provider: Option<&'a str>,
    /// Whether the price came from the user rather than the bundled table.
    pub user: bool,
    pub price: &'a Price,
}

#[derive(Debug, Clone)]
struct Entry {
    key: Box<str>,
    provider: Option<Box<str>>,
    user: bool,
    price: Price,
}

type Index = u32;
/// A provider restriction or cache key: a lowercase provider name, or none.
type ProviderKey = Option<Box<str>>;
type LookupCache = HashMap<Box<str>, Vec<(ProviderKey, Option<Index>)>>;

/// Model prices, bundled and user-supplied. Cheap to query from the ingest thread: every answer
/// is cached per (provider, model) string pair, so a repeated lookup costs one hash of the model
/// string and an uncontended lock.
pub struct CostTable {
    entries: Vec<Entry>,
    /// Bundled entries by lowercase key.
    exact: HashMap<Box<str>, Index>,
    /// Bundled entries with a prefixed key (`azure/eu/gpt-4o`) by its last path segment
    /// (`gpt-4o`), shortest key first.
    by_name: HashMap<Box<str>, Vec<Index>>,
    /// User entries by lowercase model, each with the canonical provider it is restricted to.
    user: HashMap<Box<str>, Vec<(ProviderKey, Index)>>,
    source: Option<TableSource>,
    cache: Mutex<LookupCache>,
}

impl CostTable {
    /// The table embedded at build time. Its parsing is covered by a unit test, so a failure here
    /// is a bug in `scripts/update-prices.py`, not bad input.
    pub fn bundled() -> CostTable {
        Self::from_json(BUNDLED).expect("the bundled src/cost/prices.json must parse")
    }

    pub fn empty() -> CostTable {
        CostTable {
            entries: Vec::new(),
            exact: HashMap::new(),
            by_name: HashMap::new(),
            user: HashMap::new(),
            source: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A table in the format `scripts/update-prices.py` writes.
    pub fn from_json(json: &str) -> Result<CostTable, TableError> {
        let RawTable { source, models } = serde_json::from_str(json)?;
        let mut table = CostTable::empty();
        table.source = source;
        table.entries.reserve(models.len());
        for (key, raw) in models {
            let key = key.trim().to_lowercase();
            if key.is_empty() || table.exact.contains_key(key.as_str()) {
                continue;
            }
            let index = table.entries.len() as Index;
            if let Some((_, last)) = key.rsplit_once('/')
                && !last.is_empty()
            {
                table.by_name.entry(last.into()).or_default().push(index);
            }
            table.exact.insert(key.as_str().into(), index);
            table.entries.push(Entry {
                key: key.into(),
                provider: Some(raw.provider.trim().to_lowercase().into()),
                user: false,
                price: raw.into_price(),
            });
        }
        let entries = &table.entries;
        for candidates in table.by_name.values_mut() {
            candidates.sort_by(|&a, &b| {
                let (a, b) = (&entries[a as usize].key, &entries[b as usize].key);
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            });
        }
        Ok(table)
    }

    /// Adds or replaces a user price. User prices win over bundled ones for every spelling of the
    /// model, dated snapshots included. With `provider`, the price applies only to calls from that
    /// provider (any spelling of it); a provider prefix on `model` (`openai/my-ft`) counts as one.
    pub fn insert(&mut self, model: &str, provider: Option<&str>, price: Price) {
        let mut model = model.trim().to_lowercase();
        let provider = provider
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty());
        let mut canonical: ProviderKey = provider
            .as_deref()
            .map(|p| ProviderRef::resolve(p).canonical().into());
        // `openai/my-ft` is `my-ft` from OpenAI, unless another provider serves a model by that
        // name (`openai/gpt-oss-120b` on Groq).
        if let Some((head, rest)) = model.split_once('/')
            && !rest.is_empty()
            && let Some(family) = provider::known(head)
            && canonical.as_deref().is_none_or(|c| c == family.name)
        {
            canonical = Some(family.name.into());
            model = rest.to_string();
        }
        if model.is_empty() {
            return;
        }
        let list = self.user.entry(model.as_str().into()).or_default();
        if let Some(&(_, index)) = list.iter().find(|(p, _)| *p == canonical) {
            self.entries[index as usize].price = price;
        } else {
            let index = self.entries.len() as Index;
            list.push((canonical.clone(), index));
            self.entries.push(Entry {
                key: model.into(),
                provider: canonical,
                user: true,
                price,
            });
        }
        self.lock_cache().clear();
    }

    /// The price for a call to `model` from `provider` (a span's `gen_ai.provider.name` or
    /// similar, any spelling), or `None` when the model is unknown.
    pub fn lookup(&self, provider: Option<&str>, model: &str) -> Option<&Price> {
        self.cached_index(provider, model)
            .map(|i| &self.entries[i as usize].price)
    }

    /// Like [`CostTable::lookup`], with the entry that matched.
    pub fn lookup_match(&self, provider: Option<&str>, model: &str) -> Option<PriceMatch<'_>> {
        self.cached_index(provider, model).map(|i| {
            let e = &self.entries[i as usize];
            PriceMatch {
                key: &e.key,
                provider: e.provider.as_deref(),
                user: e.user,
                price: &e.price,
            }
        })
    }

    /// The cost of a call in USD; `None` when the model is unpriced (never 0 for that).
    pub fn cost(&self, provider: Option<&str>, model: &str, usage: &Usage) -> Option<f64> {
        self.lookup(provider, model).map(|p| price_usage(p, usage))
    }

    /// Number of priced entries, bundled and user.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The LiteLLM release and file hash the bundled prices were derived from.
    pub fn source(&self) -> Option<&TableSource> {
        self.source.as_ref()
    }

    fn lock_cache(&self) -> MutexGuard<'_, LookupCache> {
        // The cache only ever holds complete answers: one left by a panicking thread is fine.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached_index(&self, provider: Option<&str>, model: &str) -> Option<Index> {
        let mut cache = self.lock_cache();
        if let Some(known) = cache.get(model)
            && let Some(&(_, answer)) = known.iter().find(|(p, _)| p.as_deref() == provider)
        {
            return answer;
        }
        let answer = self.resolve(provider, model);
        if cache.len() >= CACHE_MAX_MODELS {
            cache.clear();
        }
        let known = cache.entry(model.into()).or_default();
        if known.len() >= CACHE_MAX_PROVIDERS {
            known.clear();
        }
        known.push((provider.map(Into::into), answer));
        answer
    }

    fn resolve(&self, provider: Option<&str>, model: &str) -> Option<Index> {
        let model = model.trim().to_lowercase();
        if model.is_empty() {
            return None;
        }
        let provider = provider
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty());
        let span_provider = provider.as_deref().map(ProviderRef::resolve);

        // Spellings to try: as sent, without a known provider prefix, its last path segment.
        let mut implied = None;
        let mut unprefixed = None;
        if let Some((head, rest)) = model.split_once('/')
            && !rest.is_empty()
            && let Some(family) = provider::known(head)
        {
            implied = Some(ProviderRef::Known(family));
            unprefixed = Some(rest);
        }
        let last = model
            .rsplit_once('/')
            .map(|(_, last)| last)
            .filter(|l| !l.is_empty());
        let last = last.filter(|&l| Some(l) != unprefixed);
        let spellings = [Some(model.as_str()), unprefixed, last];
        let by = span_provider.or(implied);

        if !self.user.is_empty() {
            let canonical = by.map(ProviderRef::canonical);
            for spelling in spellings.iter().flatten() {
                if let Some(i) = first_variant(spelling, |v| self.user_match(v, canonical)) {
                    return Some(i);
                }
            }
        }
        let mut scratch = String::with_capacity(model.len() + 24);
        for spelling in spellings.iter().flatten() {
            if let Some(i) = first_variant(spelling, |v| self.bundled_match(v, by, &mut scratch)) {
                return Some(i);
            }
        }
        None
    }

    /// A user price for `name`: one restricted to the span's provider, else an unrestricted one;
    /// when the span names no provider, any.
    fn user_match(&self, name: &str, provider: Option<&str>) -> Option<Index> {
        let list = self.user.get(name)?;
        let restricted = provider.and_then(|p| list.iter().find(|(q, _)| q.as_deref() == Some(p)));
        let unrestricted = || list.iter().find(|(q, _)| q.is_none());
        let any = || if provider.is_none() { list.first() } else { None };
        restricted.or_else(unrestricted).or_else(any).map(|&(_, i)| i)
    }

    fn bundled_match(&self, name: &str, by: Option<ProviderRef<'_>>, scratch: &mut String) -> Option<Index> {
        let served_by = |i: Index, p: ProviderRef<'_>| {
            self.entries[i as usize]
                .provider
                .as_deref()
                .is_some_and(|lp| p.matches(lp))
        };
        if let Some(p) = by {
            for prefix in p.key_prefixes() {
                scratch.clear();
                scratch.push_str(prefix);
                scratch.push('/');
                scratch.push_str(name);
                if let Some(&i) = self.exact.get(scratch.as_str()) {
                    return Some(i);
                }
            }
        }
        let exact = self.exact.get(name).copied();
        if let Some(i) = exact
            && by.is_none_or(|p| served_by(i, p))
        {
            return Some(i);
        }
        let candidates = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
        if let Some(p) = by
            && let Some(&i) = candidates.iter().find(|&&i| served_by(i, p))
        {
            return Some(i);
        }
        if exact.is_some() {
            // Same model name, another provider: LiteLLM's default, and usually the list price.
            return exact;
        }
        // Resellers only. Guess only when the span does not say who served it and the guess
        // cannot be wrong: every reseller charges the same.
        if by.is_none_or(|p| !p.is_known())
            && let Some((&first, rest)) = candidates.split_first()
            && rest
                .iter()
                .all(|&i| self.entries[i as usize].price == self.entries[first as usize].price)
        {
            return Some(first);
        }
        None
    }
}

impl Clone for CostTable {
    fn clone(&self) -> Self {
        CostTable {
            entries: self.entries.clone(),
            exact: self.exact.clone(),
            by_name: self.by_name.clone(),
            user: self.user.clone(),
            source: self.source.clone(),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl fmt::Debug for CostTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CostTable")
            .field("entries", &self.entries.len())
            .field("user", &self.user.len())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// `prices.json`: `{"_source": {...}, "<model key>": {...}, ...}`.
struct RawTable {
    source: Option<TableSource>,
    models: Vec<(String, RawPrice)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    provider: String,
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    reasoning: Option<f64>,
    #[serde(default)]
    tiers: Vec<RawTier>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    above: u64,
    input: Option<f64>,
    output: Option<f64>,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    reasoning: Option<f64>,
}

impl RawPrice {
    fn into_price(self) -> Price {
        let mut tiers: Vec<Tier> = self
            .tiers
            .into_iter()
            .map(|t| Tier {
                above: t.above,
                input: t.input,
                output: t.output,
                cache_read: t.cache_read,
                cache_write: t.cache_write,
                reasoning: t.reasoning,
            })
            .collect();
        tiers.sort_by_key(|t| t.above);
        Price {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
            reasoning: self.reasoning,
            tiers,
        }
    }
}

impl<'de> Deserialize<'de> for RawTable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor;
        impl<'de> Visitor<'de> for TableVisitor {
            type Value = RawTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from model name to prices")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawTable, A::Error> {
                let mut table = RawTable {
                    source: None,
                    models: Vec::with_capacity(map.size_hint().unwrap_or(0)),
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == "_source" {
                        table.source = Some(map.next_value()?);
                    } else {
                        let price = map.next_value()?;
                        table.models.push((key, price));
                    }
                }
                Ok(table)
            }
        }
        deserializer.deserialize_map(TableVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_usd;
    use super::*;

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input,
            output,
            ..Usage::default()
        }
    }

    fn key_for(table: &CostTable, provider: Option<&str>, model: &str) -> Option<String> {
        table.lookup_match(provider, model).map(|m| m.key.to_string())
    }

    #[test]
    fn bundled_table_parses_and_has_the_common_models() {
        let t = CostTable::bundled();
        assert!(t.len() > 2_000, "only {} entries", t.len());
        let source = t.source().expect("_source entry");
        assert!(!source.litellm_version.is_empty());
        assert_eq!(source.sha256.len(), 64);
        for (provider, model) in [
            ("openai", "gpt-4o"),
            ("openai", "gpt-4o-mini"),
            ("openai", "text-embedding-3-small"),
            ("anthropic", "claude-sonnet-4-5"),
            ("anthropic", "claude-haiku-4-5"),
            ("gemini", "gemini/gemini-2.5-pro"),
            ("vertex_ai-language-models", "gemini-2.5-flash"),
        ] {
            let m = t
                .lookup_match(None, model)
                .unwrap_or_else(|| panic!("{model} missing"));
            assert_eq!(m.key, model);
            assert_eq!(m.provider, Some(provider), "{model}");
            assert!(!m.user);
            assert!(m.price.input > 0.0 && m.price.output >= 0.0, "{model}");
        }
    }

    #[test]
    fn bundled_prices_are_sane() {
        let t = CostTable::bundled();
        for e in &t.entries {
            let p = &e.price;
            let all = [
                Some(p.input),
                Some(p.output),
                p.cache_read,
                p.cache_write,
                p.reasoning,
            ];
            let tiers = p
                .tiers
                .iter()
                .flat_map(|t| [t.input, t.output, t.cache_read, t.cache_write, t.reasoning]);
            for x in all.into_iter().chain(tiers).flatten() {
                // Nothing costs $1 a token or less than nothing.
                assert!(x.is_finite() && (0.0..1.0).contains(&x), "{}: {x}", e.key);
            }
            assert!(p.tiers.windows(2).all(|w| w[0].above < w[1].above), "{}", e.key);
            assert_eq!(&*e.key, e.key.to_lowercase(), "keys are stored lowercase");
        }
    }

    #[test]
    fn gpt_4o_mini_plain_and_with_cache_reads() {
        let t = CostTable::bundled();
        // prices.json: gpt-4o-mini input 1.5e-07, output 6e-07, cache_read 7.5e-08.
        let plain = t.cost(Some("openai"), "gpt-4o-mini", &usage(412, 96)).unwrap();
        assert_usd(plain, 412.0 * 0.15e-6 + 96.0 * 0.60e-6);
        assert_usd(plain, 0.0001194);
        // OTel-style: 412 input tokens of which 256 came from the cache.
        let cached = Usage {
            cache_read: 256,
            ..usage(412, 96)
        };
        let cost = t.cost(Some("openai"), "gpt-4o-mini", &cached).unwrap();
        assert_usd(cost, 156.0 * 0.15e-6 + 256.0 * 0.075e-6 + 96.0 * 0.60e-6);
        assert_usd(cost, 0.0001002);
    }

    #[test]
    fn anthropic_cache_writes() {
        let t = CostTable::bundled();
        // prices.json: claude-sonnet-4-5 input 3e-06, output 1.5e-05, cache_read 3e-07,
        // cache_write 3.75e-06. 10,000 input = 1,000 fresh + 3,000 read + 6,000 written.
        let u = Usage {
            input: 10_000,
            output: 500,
            cache_read: 3_000,
            cache_write: 6_000,
            reasoning: 0,
        };
        let cost = t.cost(Some("anthropic"), "claude-sonnet-4-5", &u).unwrap();
        assert_usd(
            cost,
            (1_000.0 * 3.0 + 3_000.0 * 0.30 + 6_000.0 * 3.75 + 500.0 * 15.0) / 1e6,
        );
        assert_usd(cost, 0.0339);
    }

    #[test]
    fn reasoning_with_and_without_a_reasoning_price() {
        let t = CostTable::bundled();
        let u = Usage {
            reasoning: 700,
            ..usage(1_000, 1_000)
        };
        // prices.json: perplexity/sonar-deep-research input 2e-06, output 8e-06, reasoning 3e-06.
        let with = t.cost(Some("perplexity"), "sonar-deep-research", &u).unwrap();
        assert_usd(with, (1_000.0 * 2.0 + 300.0 * 8.0 + 700.0 * 3.0) / 1e6);
        // prices.json: o3-mini input 1.1e-06, output 4.4e-06, no reasoning price: all output.
        let without = t.cost(Some("openai"), "o3-mini", &u).unwrap();
        assert_usd(without, (1_000.0 * 1.1 + 1_000.0 * 4.4) / 1e6);
    }

    #[test]
    fn long_context_tier_above_and_below_200k() {
        let t = CostTable::bundled();
        // prices.json: gemini/gemini-2.5-pro input 1.25e-06, output 1e-05, cache_read 1.25e-07;
        // above 200k: input 2.5e-06, output 1.5e-05, cache_read 2.5e-07.
        let below = Usage {
            cache_read: 50_000,
            ..usage(200_000, 2_000)
        };
        let cost = t.cost(Some("gcp.gemini"), "gemini-2.5-pro", &below).unwrap();
        assert_usd(cost, (150_000.0 * 1.25 + 50_000.0 * 0.125 + 2_000.0 * 10.0) / 1e6);
        let above = Usage {
            cache_read: 50_000,
            ..usage(250_000, 2_000)
        };
        let cost = t.cost(Some("gcp.gemini"), "gemini-2.5-pro", &above).unwrap();
        assert_usd(cost, (200_000.0 * 2.5 + 50_000.0 * 0.25 + 2_000.0 * 15.0) / 1e6);
        // GPT-5.4's tier starts at 272k: 250k input is still the base price
        // (prices.json: gpt-5.4 input 2.5e-06, output 1.5e-05; above 272k 5e-06 / 2.25e-05).
        let cost = t.cost(Some("openai"), "gpt-5.4", &usage(250_000, 1_000)).unwrap();
        assert_usd(cost, (250_000.0 * 2.5 + 1_000.0 * 15.0) / 1e6);
        let cost = t.cost(Some("openai"), "gpt-5.4", &usage(300_000, 1_000)).unwrap();
        assert_usd(cost, (300_000.0 * 5.0 + 1_000.0 * 22.5) / 1e6);
    }

    #[test]
    fn provider_prefix_on_the_model() {
        let t = CostTable::bundled();
        assert_eq!(
            key_for(&t, None, "openai/gpt-4o-mini").as_deref(),
            Some("gpt-4o-mini")
        );
        assert_eq!(
            key_for(&t, Some("openai"), "openai/gpt-4o").as_deref(),
            Some("gpt-4o")
        );
        // OpenRouter style `google/...` names the Gemini API's entry.
        assert_eq!(
            key_for(&t, None, "google/gemini-2.5-pro").as_deref(),
            Some("gemini/gemini-2.5-pro")
        );
        let expected = 412.0 * 0.15e-6 + 96.0 * 0.60e-6;
        assert_usd(
            t.cost(None, "openai/gpt-4o-mini", &usage(412, 96)).unwrap(),
            expected,
        );
    }

    #[test]
    fn the_spans_provider_picks_among_same_named_entries() {
        let t = CostTable::bundled();
        let cases = [
            (Some("openai"), "gpt-4o", "gpt-4o"),
            (Some("azure.ai.openai"), "gpt-4o", "azure/gpt-4o"),
            (Some("az.ai.openai"), "gpt-4o-mini", "azure/gpt-4o-mini"),
            (Some("gcp.gemini"), "gemini-2.5-pro", "gemini/gemini-2.5-pro"),
            (Some("gemini"), "gemini-2.5-flash", "gemini/gemini-2.5-flash"),
            (Some("gcp.vertex_ai"), "gemini-2.5-pro", "gemini-2.5-pro"),
            (
                Some("gcp.vertex_ai"),
                "claude-sonnet-4-6",
                "vertex_ai/claude-sonnet-4-6",
            ),
            (
                Some("aws.bedrock"),
                "anthropic.claude-sonnet-4-6",
                "anthropic.claude-sonnet-4-6",
            ),
            (Some("anthropic"), "claude-sonnet-4-6", "claude-sonnet-4-6"),
            (Some("x_ai"), "grok-4.3", "xai/grok-4.3"),
            (
                Some("mistral_ai"),
                "mistral-large-latest",
                "mistral/mistral-large-latest",
            ),
            (Some("deepseek"), "deepseek-chat", "deepseek/deepseek-chat"),
            (Some("groq"), "openai/gpt-oss-120b", "groq/openai/gpt-oss-120b"),
            (Some("cohere"), "command-r-08-2024", "command-r-08-2024"),
            (None, "gemini-2.5-pro", "gemini-2.5-pro"),
            // OpenAI-compatible endpoints of other providers, called with the OpenAI SDK: the
            // span says openai, the model is someone else's and is priced as theirs.
            (Some("openai"), "deepseek-chat", "deepseek-chat"),
            (Some("openai"), "gemini-2.5-flash", "gemini-2.5-flash"),
        ];
        for (provider, model, key) in cases {
            assert_eq!(
                key_for(&t, provider, model).as_deref(),
                Some(key),
                "{provider:?} {model}"
            );
        }
    }

    #[test]
    fn dated_snapshots_fall_back_to_their_model() {
        let t = CostTable::bundled();
        // Known snapshots match exactly.
        assert_eq!(
            key_for(&t, Some("openai"), "gpt-4o-mini-2024-07-18").as_deref(),
            Some("gpt-4o-mini-2024-07-18")
        );
        // Unknown ones fall back: OpenAI and Anthropic date styles.
        assert!(!t.exact.contains_key("gpt-4o-mini-2031-01-15"));
        assert_eq!(
            key_for(&t, Some("openai"), "gpt-4o-mini-2031-01-15").as_deref(),
            Some("gpt-4o-mini")
        );
        assert!(!t.exact.contains_key("claude-sonnet-4-6-20260217"));
        assert_eq!(
            key_for(&t, Some("anthropic"), "claude-sonnet-4-6-20260217").as_deref(),
            Some("claude-sonnet-4-6")
        );
        let cost = t
            .cost(Some("openai"), "gpt-4o-mini-2031-01-15", &usage(412, 96))
            .unwrap();
        assert_usd(cost, 412.0 * 0.15e-6 + 96.0 * 0.60e-6);
        // A dated name whose undated model is not in the table stays unpriced for its provider.
        assert!(!t.exact.contains_key("claude-3-5-sonnet"));
        assert_eq!(key_for(&t, Some("anthropic"), "claude-3-5-sonnet-20241022"), None);
    }

    #[test]
    fn vertex_at_versions() {
        let t = CostTable::bundled();
        let vertex = Some("gcp.vertex_ai");
        assert_eq!(
            key_for(&t, vertex, "claude-3-5-sonnet@20240620").as_deref(),
            Some("vertex_ai/claude-3-5-sonnet@20240620")
        );
        assert_eq!(
            key_for(&t, vertex, "claude-sonnet-4-6@20260301").as_deref(),
            Some("vertex_ai/claude-sonnet-4-6")
        );
        // prices.json: vertex_ai/claude-sonnet-4-6 input 3e-06, output 1.5e-05.
        let cost = t
            .cost(vertex, "claude-sonnet-4-6@20260301", &usage(2_000, 100))
            .unwrap();
        assert_usd(cost, (2_000.0 * 3.0 + 100.0 * 15.0) / 1e6);
    }

    #[test]
    fn unknown_models_are_unpriced_and_free_ones_cost_zero() {
        let t = CostTable::bundled();
        assert_eq!(t.cost(Some("openai"), "gpt-nonexistent-9", &usage(10, 10)), None);
        assert_eq!(t.cost(None, "my-finetune", &usage(10, 10)), None);
        assert_eq!(t.cost(Some("openai"), "", &usage(10, 10)), None);
        assert_eq!(t.cost(Some("openai"), "   ", &usage(10, 10)), None);
        // Priced at $0 upstream (a local model): free, not unknown.
        assert_eq!(t.cost(Some("ollama"), "llama3", &usage(1_000, 1_000)), Some(0.0));
        assert_eq!(
            t.cost(None, "ollama/llama3:latest", &usage(1_000, 1_000)),
            Some(0.0)
        );
    }

    #[test]
    fn resellers_are_a_guess_only_without_a_known_provider_and_only_if_they_agree() {
        let t = CostTable::bundled();
        // `gpt-oss-120b` is only listed under resellers, at different prices: no guess.
        assert!(!t.exact.contains_key("gpt-oss-120b"));
        assert_eq!(t.lookup(None, "gpt-oss-120b"), None);
        // Named provider, among the resellers: its price.
        assert_eq!(
            key_for(&t, Some("cerebras"), "gpt-oss-120b").as_deref(),
            Some("cerebras/gpt-oss-120b")
        );
        // A known provider that does not list it: no borrowing from resellers.
        assert_eq!(t.lookup(Some("anthropic"), "gpt-oss-120b"), None);
    }

    #[test]
    fn case_and_whitespace_do_not_matter() {
        let t = CostTable::bundled();
        let expected = 412.0 * 0.15e-6 + 96.0 * 0.60e-6;
        for (provider, model) in [
            (Some("OpenAI"), " GPT-4o-Mini "),
            (Some(" OPENAI"), "gpt-4O-MINI"),
            (None, "OpenAI/GPT-4o-mini"),
        ] {
            assert_usd(t.cost(provider, model, &usage(412, 96)).unwrap(), expected);
        }
        assert_eq!(
            key_for(&t, Some("GCP.Gemini"), "Gemini-2.5-Pro").as_deref(),
            Some("gemini/gemini-2.5-pro")
        );
    }

    #[test]
    fn user_prices_win_over_bundled_ones() {
        let mut t = CostTable::bundled();
        let before = t.len();
        let mine = Price {
            input: 1e-6,
            output: 2e-6,
            ..Price::default()
        };
        t.insert("GPT-4o-mini", None, mine.clone());
        assert_eq!(t.len(), before + 1);
        for provider in [None, Some("openai"), Some("azure.ai.openai")] {
            let m = t.lookup_match(provider, "gpt-4o-mini").unwrap();
            assert!(m.user, "{provider:?}");
            assert_eq!(m.price, &mine);
        }
        // Snapshots of the model follow the user's price.
        assert_usd(
            t.cost(Some("openai"), "gpt-4o-mini-2024-07-18", &usage(1_000, 1_000))
                .unwrap(),
            0.003,
        );
        // Replacing keeps one entry.
        t.insert(
            "gpt-4o-mini",
            None,
            Price {
                input: 5e-6,
                ..mine.clone()
            },
        );
        assert_eq!(t.len(), before + 1);
        assert_usd(t.cost(None, "gpt-4o-mini", &usage(1_000, 0)).unwrap(), 0.005);
        // Other models are untouched.
        assert_usd(
            t.cost(Some("openai"), "gpt-4o", &usage(1_000, 0)).unwrap(),
            1_000.0 * 2.5e-6,
        );
    }

    #[test]
    fn user_prices_restricted_to_a_provider() {
        let mut t = CostTable::bundled();
        let negotiated = Price {
            input: 1e-6,
            output: 1e-6,
            ..Price::default()
        };
        t.insert("gpt-4o", Some("azure"), negotiated.clone());
        // Any spelling of the provider, and a prefix on the model, count.
        assert_eq!(t.lookup(Some("azure.ai.openai"), "gpt-4o"), Some(&negotiated));
        assert_eq!(t.lookup(None, "azure/gpt-4o"), Some(&negotiated));
        // OpenAI's own gpt-4o keeps the bundled price.
        assert_usd(t.lookup(Some("openai"), "gpt-4o").unwrap().input, 2.5e-6);
        // A prefixed model name restricts too.
        t.insert("openai/my-ft", None, negotiated.clone());
        assert_eq!(t.lookup(Some("openai"), "my-ft"), Some(&negotiated));
        assert_eq!(t.lookup(Some("anthropic"), "my-ft"), None);
        assert_eq!(t.lookup(None, "my-ft"), Some(&negotiated));
        // So does a prefix naming the same provider as the restriction...
        let other = Price {
            input: 7e-6,
            ..negotiated.clone()
        };
        t.insert("xai/grok-4.3", Some("x_ai"), other.clone());
        assert_eq!(t.lookup(Some("xai"), "grok-4.3"), Some(&other));
        // ...while a prefix that is part of another provider's model name stays in the name.
        t.insert("openai/gpt-oss-120b", Some("groq"), other.clone());
        assert_eq!(t.lookup(Some("groq"), "openai/gpt-oss-120b"), Some(&other));
        assert!(
            !t.lookup(Some("openai"), "gpt-oss-120b")
                .is_some_and(|p| *p == other)
        );
    }

    #[test]
    fn user_prices_on_an_empty_table_and_latest_aliases() {
        let mut t = CostTable::empty();
        assert!(t.is_empty());
        assert_eq!(t.lookup(None, "anything"), None);
        t.insert(
            "mistral-large",
            Some("mistral_ai"),
            Price {
                input: 2e-6,
                output: 6e-6,
                ..Price::default()
            },
        );
        assert_eq!(t.len(), 1);
        assert_usd(
            t.cost(Some("mistral"), "mistral-large-latest", &usage(1_000, 1_000))
                .unwrap(),
            0.008,
        );
        assert_usd(
            t.cost(Some("mistralai"), "Mistral-Large", &usage(1_000, 1_000))
                .unwrap(),
            0.008,
        );
    }

    #[test]
    fn repeated_lookups_are_cached_and_inserts_invalidate() {
        let mut t = CostTable::bundled();
        assert!(t.lookup(Some("openai"), "gpt-4o").is_some());
        assert!(t.lookup(Some("openai"), "no-such-model").is_none());
        {
            let cache = t.lock_cache();
            assert_eq!(cache.get("gpt-4o").map(Vec::len), Some(1));
            assert_eq!(cache.get("no-such-model").map(|v| v[0].1), Some(None));
        }
        // A cached miss must not outlive a user price for that model.
        t.insert(
            "no-such-model",
            None,
            Price {
                input: 1e-6,
                ..Price::default()
            },
        );
        assert!(t.lookup(Some("openai"), "no-such-model").is_some());
        // The cache is bounded.
        for i in 0..(CACHE_MAX_MODELS + 10) {
            t.lookup(None, &format!("made-up-{i}"));
        }
        assert!(t.lock_cache().len() <= CACHE_MAX_MODELS);
        assert!(t.lookup(Some("openai"), "gpt-4o").is_some());
    }

    #[test]
    fn malformed_tables_are_errors() {
        assert!(CostTable::from_json("[]").is_err());
        assert!(CostTable::from_json(r#"{"m": {"provider": "x", "input": 1}}"#).is_err());
        assert!(
            CostTable::from_json(r#"{"m": {"provider": "x", "input": 1, "output": 1, "typo": 1}}"#).is_err()
        );
        let t = CostTable::from_json(r#"{"M": {"provider": "X", "input": 1e-6, "output": 2e-6}}"#).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.source(), None);
        assert_eq!(key_for(&t, Some("x"), "m").as_deref(), Some("m"));
    }
}
