//! What an LLM call cost: a bundled price table and the rules that apply it.
//!
//! The table ([`CostTable::bundled`]) is derived from LiteLLM's price list (MIT, see NOTICE.md)
//! by `scripts/update-prices.py` and embedded at compile time. It holds USD prices per token for
//! chat, completion, responses and embedding models. Users add or override prices from the
//! config file ([`PriceOverride`], per million tokens) with [`CostTable::insert`].
//!
//! A model the table does not know is *unpriced*: [`CostTable::cost`] returns `None`, never 0.
//! A model the table prices at $0 (local Ollama models, free previews) costs `Some(0.0)`.
//!
//! The rules ([`price_usage`]), as LiteLLM and Langfuse apply them:
//! - uncached input × input price + cache reads × cache-read price + cache writes × cache-write
//!   price (both cache prices fall back to the input price) + output × output price, where
//!   reasoning tokens (part of output) are priced at the reasoning price when there is one;
//! - long-context tiers (`..._above_200k_tokens`; 272k for GPT-5.4 and later, other sizes for
//!   some providers) price the *whole* request once its input exceeds the threshold.

mod names;
mod price;
mod provider;
mod table;

use serde::{Deserialize, Deserializer};

pub use price::{Price, Tier, Usage, price_usage};
pub use table::{CostTable, PriceMatch, TableError, TableSource};

/// The threshold of the tier a [`PriceOverride`] describes: pricing pages quote "above 200k".
pub const OVERRIDE_TIER_ABOVE: u64 = 200_000;

/// A user's price for one model, as written in the config file: USD per **million** tokens,
/// the unit pricing pages use. Negative, infinite and NaN prices are rejected when parsing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// Restrict the price to calls from this provider (`openai`, `aws.bedrock`, `azure`, ...,
    /// OTel or LiteLLM spelling). Without it the price applies whoever serves the model.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(deserialize_with = "price_f64")]
    pub input_per_mtok: f64,
    #[serde(deserialize_with = "price_f64")]
    pub output_per_mtok: f64,
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub cache_read_per_mtok: Option<f64>,
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub cache_write_per_mtok: Option<f64>,
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub reasoning_per_mtok: Option<f64>,
    /// Prices for requests with more than 200,000 input tokens (whole request).
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub input_above_200k_per_mtok: Option<f64>,
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub output_above_200k_per_mtok: Option<f64>,
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub cache_read_above_200k_per_mtok: Option<f64>,
    #[serde(default, deserialize_with = "opt_price_f64")]
    pub cache_write_above_200k_per_mtok: Option<f64>,
}

impl PriceOverride {
    pub fn to_price(&self) -> Price {
        let per_token = |per_mtok: f64| per_mtok / 1e6;
        let tier = Tier {
            above: OVERRIDE_TIER_ABOVE,
            input: self.input_above_200k_per_mtok.map(per_token),
            output: self.output_above_200k_per_mtok.map(per_token),
            cache_read: self.cache_read_above_200k_per_mtok.map(per_token),
            cache_write: self.cache_write_above_200k_per_mtok.map(per_token),
            reasoning: None,
        };
        let has_tier = tier.input.is_some()
            || tier.output.is_some()
            || tier.cache_read.is_some()
            || tier.cache_write.is_some();
        Price {
            input: per_token(self.input_per_mtok),
            output: per_token(self.output_per_mtok),
            cache_read: self.cache_read_per_mtok.map(per_token),
            cache_write: self.cache_write_per_mtok.map(per_token),
            reasoning: self.reasoning_per_mtok.map(per_token),
            tiers: if has_tier { vec![tier] } else { Vec::new() },
        }
    }
}

fn check_price<E: serde::de::Error>(x: f64) -> Result<f64, E> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(E::custom(format_args!(
            "a price must be a finite number >= 0, not {x}"
        )))
    }
}

fn price_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    check_price(f64::deserialize(d)?)
}

fn opt_price_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(d)?.map(check_price).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative comparison: costs are sums of products of small floats.
    #[track_caller]
    pub(crate) fn assert_usd(actual: f64, expected: f64) {
        let tolerance = expected.abs() * 1e-9 + 1e-15;
        assert!(
            (actual - expected).abs() <= tolerance,
            "cost {actual:e}, expected {expected:e}"
        );
    }

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input,
            output,
            ..Usage::default()
        }
    }

    fn per_mtok(input: f64, output: f64) -> Price {
        Price {
            input: input / 1e6,
            output: output / 1e6,
            ..Price::default()
        }
    }

    #[test]
    fn plain_input_and_output() {
        // $3 / $15 per million: 1,000 in + 500 out = 0.003 + 0.0075.
        assert_usd(price_usage(&per_mtok(3.0, 15.0), &usage(1_000, 500)), 0.0105);
        assert_eq!(price_usage(&per_mtok(3.0, 15.0), &Usage::default()), 0.0);
    }

    #[test]
    fn cache_prices_fall_back_to_input() {
        let u = Usage {
            input: 1_000,
            cache_read: 600,
            cache_write: 100,
            ..Usage::default()
        };
        // No cache prices: every input token at $2/M.
        assert_usd(price_usage(&per_mtok(2.0, 0.0), &u), 1_000.0 * 2e-6);
        let p = Price {
            cache_read: Some(0.2e-6),
            cache_write: Some(2.5e-6),
            ..per_mtok(2.0, 0.0)
        };
        // 300 uncached x 2 + 600 read x 0.2 + 100 written x 2.5, per million.
        assert_usd(
            price_usage(&p, &u),
            (300.0 * 2.0 + 600.0 * 0.2 + 100.0 * 2.5) / 1e6,
        );
    }

    #[test]
    fn raw_anthropic_counts_are_not_saturated_away() {
        // Anthropic's own usage: input 50 excludes 4,000 cache reads. OTel would say input 4,050.
        let p = Price {
            cache_read: Some(0.3e-6),
            ..per_mtok(3.0, 15.0)
        };
        let raw = Usage {
            input: 50,
            cache_read: 4_000,
            output: 10,
            ..Usage::default()
        };
        let otel = Usage { input: 4_050, ..raw };
        let expected = (50.0 * 3.0 + 4_000.0 * 0.3 + 10.0 * 15.0) / 1e6;
        assert_usd(price_usage(&p, &raw), expected);
        assert_usd(price_usage(&p, &otel), expected);
    }

    #[test]
    fn reasoning_at_its_own_price_or_as_output() {
        let u = Usage {
            input: 100,
            output: 1_000,
            reasoning: 800,
            ..Usage::default()
        };
        // No reasoning price: all 1,000 output tokens at $4/M.
        assert_usd(
            price_usage(&per_mtok(1.0, 4.0), &u),
            (100.0 * 1.0 + 1_000.0 * 4.0) / 1e6,
        );
        // Reasoning at $10/M: 200 text x 4 + 800 reasoning x 10.
        let p = Price {
            reasoning: Some(10e-6),
            ..per_mtok(1.0, 4.0)
        };
        assert_usd(
            price_usage(&p, &u),
            (100.0 * 1.0 + 200.0 * 4.0 + 800.0 * 10.0) / 1e6,
        );
        // Output that leaves reasoning out (reasoning > output): both are billed.
        let raw = Usage {
            input: 100,
            output: 200,
            reasoning: 800,
            ..Usage::default()
        };
        assert_usd(
            price_usage(&p, &raw),
            (100.0 * 1.0 + 200.0 * 4.0 + 800.0 * 10.0) / 1e6,
        );
    }

    #[test]
    fn tier_applies_to_the_whole_request_strictly_above_its_threshold() {
        let p = Price {
            cache_read: Some(0.125e-6),
            tiers: vec![Tier {
                above: 200_000,
                input: Some(2.5e-6),
                output: Some(15e-6),
                cache_read: None,
                ..Tier::default()
            }],
            ..per_mtok(1.25, 10.0)
        };
        let at = Usage {
            input: 200_000,
            output: 1_000,
            cache_read: 100_000,
            ..Usage::default()
        };
        assert_usd(
            price_usage(&p, &at),
            (100_000.0 * 1.25 + 100_000.0 * 0.125 + 1_000.0 * 10.0) / 1e6,
        );
        // One token more: input and output at the tier; cache reads keep the base cache price
        // because the tier has none of its own.
        let above = Usage { input: 200_001, ..at };
        assert_usd(
            price_usage(&p, &above),
            (100_001.0 * 2.5 + 100_000.0 * 0.125 + 1_000.0 * 15.0) / 1e6,
        );
    }

    #[test]
    fn highest_crossed_tier_wins_whatever_the_order() {
        let tier = |above, input| Tier {
            above,
            input: Some(input),
            ..Tier::default()
        };
        let p = Price {
            tiers: vec![tier(128_000, 3e-6), tier(32_000, 2e-6)],
            ..per_mtok(1.0, 0.0)
        };
        assert_usd(price_usage(&p, &usage(32_000, 0)), 32_000.0 * 1e-6);
        assert_usd(price_usage(&p, &usage(50_000, 0)), 50_000.0 * 2e-6);
        assert_usd(price_usage(&p, &usage(130_000, 0)), 130_000.0 * 3e-6);
    }

    #[test]
    fn override_is_per_million_tokens() {
        let o: PriceOverride = serde_json::from_str(
            r#"{"provider": "openai", "input_per_mtok": 3, "output_per_mtok": 15,
                "cache_read_per_mtok": 0.3, "input_above_200k_per_mtok": 6}"#,
        )
        .unwrap();
        let p = o.to_price();
        assert_usd(p.input, 3e-6);
        assert_usd(p.output, 15e-6);
        assert_usd(p.cache_read.unwrap(), 0.3e-6);
        assert_eq!(p.cache_write, None);
        assert_eq!(p.tiers.len(), 1);
        assert_eq!(p.tiers[0].above, 200_000);
        assert_usd(p.tiers[0].input.unwrap(), 6e-6);
        assert_eq!(p.tiers[0].output, None);
        // Without tier fields there is no tier.
        let plain: PriceOverride =
            serde_json::from_str(r#"{"input_per_mtok": 1, "output_per_mtok": 2}"#).unwrap();
        assert!(plain.to_price().tiers.is_empty());
    }

    #[test]
    fn override_rejects_unknown_fields_and_bad_prices() {
        let typo = serde_json::from_str::<PriceOverride>(r#"{"input_per_mtok": 1, "output_per_mtk": 2}"#);
        assert!(typo.unwrap_err().to_string().contains("output_per_mtk"));
        let negative =
            serde_json::from_str::<PriceOverride>(r#"{"input_per_mtok": -1, "output_per_mtok": 2}"#);
        assert!(negative.unwrap_err().to_string().contains(">= 0"));
        let bad_opt = serde_json::from_str::<PriceOverride>(
            r#"{"input_per_mtok": 1, "output_per_mtok": 2, "cache_read_per_mtok": -0.5}"#,
        );
        assert!(bad_opt.is_err());
    }
}
