//! A price and the rules that apply it to one call's tokens ([`price_usage`]): cache reads and
//! writes, reasoning, long-context tiers. Below the table, which looks prices up, and the
//! config's overrides, which make them.

/// USD per token. `None` fields fall back as described on each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached input read; falls back to `input`.
    pub cache_read: Option<f64>,
    /// Input written to the cache; falls back to `input`.
    pub cache_write: Option<f64>,
    /// Reasoning output; falls back to `output`.
    pub reasoning: Option<f64>,
    /// Long-context prices. The tier with the highest `above` that the request's input exceeds
    /// applies to every token of the request. Usually empty or one tier at 200k.
    pub tiers: Vec<Tier>,
}

/// Prices for requests whose input exceeds `above` tokens. A missing field falls back to the
/// base price of the same kind (and then, for the cache and reasoning prices, to this tier's
/// input or output price).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tier {
    pub above: u64,
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
    pub reasoning: Option<f64>,
}

/// Token counts of one call, in the OTel convention: `input` includes `cache_read` and
/// `cache_write`; `output` includes `reasoning`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

/// The cost in USD of `usage` at `price`.
///
/// Counts that contradict the OTel convention are read the way the raw provider numbers mean
/// them: cached tokens exceeding `input` mean `input` left them out (Anthropic's raw usage), and
/// reasoning exceeding `output` means `output` left it out (Gemini's raw usage). When the counts
/// are consistent this changes nothing.
pub fn price_usage(price: &Price, usage: &Usage) -> f64 {
    let cached = usage.cache_read.saturating_add(usage.cache_write);
    let (uncached, total_input) = if cached > usage.input {
        (usage.input, usage.input.saturating_add(cached))
    } else {
        (usage.input - cached, usage.input)
    };
    let text_output = if usage.reasoning > usage.output {
        usage.output
    } else {
        usage.output - usage.reasoning
    };

    let tier = price
        .tiers
        .iter()
        .filter(|t| total_input > t.above)
        .max_by_key(|t| t.above);
    let input = tier.and_then(|t| t.input).unwrap_or(price.input);
    let output = tier.and_then(|t| t.output).unwrap_or(price.output);
    let cache_read = tier
        .and_then(|t| t.cache_read)
        .or(price.cache_read)
        .unwrap_or(input);
    let cache_write = tier
        .and_then(|t| t.cache_write)
        .or(price.cache_write)
        .unwrap_or(input);
    let reasoning = tier
        .and_then(|t| t.reasoning)
        .or(price.reasoning)
        .unwrap_or(output);

    uncached as f64 * input
        + usage.cache_read as f64 * cache_read
        + usage.cache_write as f64 * cache_write
        + text_output as f64 * output
        + usage.reasoning as f64 * reasoning
}
