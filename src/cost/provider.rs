//! Provider names as spans spell them (OTel `gen_ai.provider.name` and the older `gen_ai.system`,
//! OpenInference `llm.provider` / `llm.system`, OpenLLMetry vendor names) mapped to LiteLLM's
//! `litellm_provider` values and model-key prefixes.

/// One provider as far as prices go. All strings are lowercase.
#[derive(Debug)]
pub(crate) struct Family {
    /// The name user prices are filed under (`[prices]` entries with `provider = "aws.bedrock"`
    /// and `provider = "bedrock"` mean the same thing).
    pub(crate) name: &'static str,
    /// How spans and users spell it.
    aliases: &'static [&'static str],
    /// Its `litellm_provider` values. A value also matches LiteLLM's sub-providers written with a
    /// dash after it (`vertex_ai` matches `vertex_ai-anthropic_models`).
    litellm: &'static [&'static str],
    /// Model-key prefixes: model `m` from this provider is also looked up as `{prefix}/{m}`.
    key_prefixes: &'static [&'static str],
}

/// Every family a span or a user can name. Providers not listed still match LiteLLM entries
/// whose provider or key prefix is spelled exactly as the span spells it (`together_ai`,
/// `fireworks_ai`, `ollama`, `cerebras`, ...), see [`ProviderRef::Other`].
static FAMILIES: &[Family] = &[
    Family {
        name: "openai",
        aliases: &["openai"],
        litellm: &["openai", "text-completion-openai"],
        key_prefixes: &["openai"],
    },
    Family {
        name: "anthropic",
        aliases: &["anthropic"],
        litellm: &["anthropic"],
        key_prefixes: &["anthropic"],
    },
    Family {
        name: "bedrock",
        aliases: &[
            "aws.bedrock",
            "bedrock",
            "aws",
            "aws_bedrock",
            "aws-bedrock",
            "amazon_bedrock",
            "amazon-bedrock",
            "bedrock_converse",
        ],
        litellm: &["bedrock", "bedrock_converse", "bedrock_mantle"],
        key_prefixes: &["bedrock"],
    },
    Family {
        name: "azure",
        aliases: &[
            "azure.ai.openai",
            "az.ai.openai",
            "azure",
            "azure_openai",
            "azure-openai",
            "azureopenai",
        ],
        litellm: &["azure", "azure_text"],
        key_prefixes: &["azure"],
    },
    Family {
        name: "azure_ai",
        aliases: &[
            "azure.ai.inference",
            "az.ai.inference",
            "azure_ai",
            "azure-ai",
            "azure_ai_inference",
            "azure_foundry",
        ],
        litellm: &["azure_ai"],
        key_prefixes: &["azure_ai"],
    },
    Family {
        name: "vertex_ai",
        aliases: &[
            "gcp.vertex_ai",
            "vertex_ai",
            "vertexai",
            "vertex",
            "vertex-ai",
            "google_vertex",
            "google-vertex",
        ],
        litellm: &["vertex_ai"],
        key_prefixes: &["vertex_ai"],
    },
    Family {
        name: "gemini",
        aliases: &[
            "gcp.gemini",
            "gemini",
            "google_genai",
            "google-genai",
            "google_ai_studio",
            "google_ai",
            "google-ai",
        ],
        litellm: &["gemini"],
        key_prefixes: &["gemini"],
    },
    // "Any Google generative AI endpoint": the Gemini API or Vertex AI.
    Family {
        name: "google",
        aliases: &["gcp.gen_ai", "google", "gcp"],
        litellm: &["gemini", "vertex_ai"],
        key_prefixes: &["gemini", "vertex_ai"],
    },
    Family {
        name: "mistral",
        aliases: &["mistral_ai", "mistral", "mistralai", "mistral-ai", "codestral"],
        litellm: &["mistral", "codestral", "text-completion-codestral"],
        key_prefixes: &["mistral", "codestral"],
    },
    Family {
        name: "cohere",
        aliases: &["cohere", "cohere_chat"],
        litellm: &["cohere", "cohere_chat"],
        key_prefixes: &["cohere", "cohere_chat"],
    },
    Family {
        name: "deepseek",
        aliases: &["deepseek", "deepseek_ai", "deepseek-ai"],
        litellm: &["deepseek"],
        key_prefixes: &["deepseek"],
    },
    Family {
        name: "xai",
        aliases: &["x_ai", "xai", "x.ai", "x-ai"],
        litellm: &["xai"],
        key_prefixes: &["xai"],
    },
    Family {
        name: "groq",
        aliases: &["groq"],
        litellm: &["groq"],
        key_prefixes: &["groq"],
    },
    Family {
        name: "perplexity",
        aliases: &["perplexity", "perplexity_ai"],
        litellm: &["perplexity"],
        key_prefixes: &["perplexity"],
    },
    Family {
        name: "watsonx",
        aliases: &["ibm.watsonx.ai", "watsonx", "watsonx.ai", "ibm_watsonx", "ibm"],
        litellm: &["watsonx"],
        key_prefixes: &["watsonx"],
    },
    Family {
        name: "together_ai",
        aliases: &["together_ai", "together", "togetherai", "together.ai"],
        litellm: &["together_ai"],
        key_prefixes: &["together_ai"],
    },
    Family {
        name: "fireworks_ai",
        aliases: &["fireworks_ai", "fireworks", "fireworksai", "fireworks.ai"],
        litellm: &["fireworks_ai"],
        key_prefixes: &["fireworks_ai"],
    },
    Family {
        name: "moonshot",
        aliases: &["moonshot", "moonshotai", "moonshot_ai", "kimi"],
        litellm: &["moonshot"],
        key_prefixes: &["moonshot"],
    },
    Family {
        name: "dashscope",
        aliases: &["dashscope", "alibaba", "alibaba_cloud", "aliyun", "qwen"],
        litellm: &["dashscope"],
        key_prefixes: &["dashscope"],
    },
    Family {
        name: "zai",
        aliases: &["zai", "z.ai", "zhipu", "zhipuai"],
        litellm: &["zai"],
        key_prefixes: &["zai"],
    },
];

/// The family named by `lowercase` (an alias or one of its LiteLLM names), if it is one we know.
pub(crate) fn known(lowercase: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.aliases.contains(&lowercase))
}

/// A span's provider, resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProviderRef<'a> {
    Known(&'static Family),
    /// A provider without an alias entry: matched verbatim against LiteLLM's names.
    Other(&'a str),
}

impl<'a> ProviderRef<'a> {
    /// `lowercase` must be trimmed, lowercase and non-empty.
    pub(crate) fn resolve(lowercase: &'a str) -> Self {
        known(lowercase).map_or(ProviderRef::Other(lowercase), ProviderRef::Known)
    }

    /// The name user prices are filed under.
    pub(crate) fn canonical(self) -> &'a str {
        match self {
            ProviderRef::Known(f) => f.name,
            ProviderRef::Other(s) => s,
        }
    }

    pub(crate) fn is_known(self) -> bool {
        matches!(self, ProviderRef::Known(_))
    }

    /// Whether a table entry with this (lowercase) `litellm_provider` is served by this provider.
    pub(crate) fn matches(self, litellm_provider: &str) -> bool {
        let is = |name: &str| {
            litellm_provider
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        };
        match self {
            ProviderRef::Known(f) => f.litellm.iter().any(|name| is(name)),
            ProviderRef::Other(s) => is(s),
        }
    }

    /// Model-key prefixes to try, without the slash.
    pub(crate) fn key_prefixes(self) -> impl Iterator<Item = &'a str> {
        let (list, single): (&'static [&'static str], Option<&'a str>) = match self {
            ProviderRef::Known(f) => (f.key_prefixes, None),
            ProviderRef::Other(s) => (&[], Some(s)),
        };
        list.iter().copied().chain(single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_and_older_spellings_resolve_to_litellm_providers() {
        let cases = [
            ("aws.bedrock", "bedrock_converse"),
            ("aws", "bedrock"),
            ("azure.ai.openai", "azure"),
            ("az.ai.openai", "azure"),
            ("azure.ai.inference", "azure_ai"),
            ("gcp.vertex_ai", "vertex_ai-anthropic_models"),
            ("gcp.vertex_ai", "vertex_ai-language-models"),
            ("gcp.gemini", "gemini"),
            ("gcp.gen_ai", "gemini"),
            ("gcp.gen_ai", "vertex_ai-language-models"),
            ("mistral_ai", "mistral"),
            ("mistralai", "mistral"),
            ("x_ai", "xai"),
            ("ibm.watsonx.ai", "watsonx"),
            ("cohere", "cohere_chat"),
            ("openai", "text-completion-openai"),
            ("fireworks", "fireworks_ai-embedding-models"),
            ("ollama", "ollama"),
        ];
        for (span, litellm) in cases {
            assert!(
                ProviderRef::resolve(span).matches(litellm),
                "{span} should match {litellm}"
            );
        }
        let mismatches = [
            ("azure.ai.openai", "azure_ai"),
            ("gcp.gemini", "vertex_ai-language-models"),
            ("openai", "azure"),
        ];
        for (span, litellm) in mismatches {
            assert!(
                !ProviderRef::resolve(span).matches(litellm),
                "{span} must not match {litellm}"
            );
        }
        // A name that merely starts like another is not it.
        assert!(!ProviderRef::resolve("vertex").matches("vertex_ai_beta"));
        assert!(!ProviderRef::resolve("olla").matches("ollama"));
    }

    #[test]
    fn aliases_share_one_canonical_name() {
        assert_eq!(
            ProviderRef::resolve("aws.bedrock").canonical(),
            ProviderRef::resolve("bedrock").canonical()
        );
        assert_eq!(ProviderRef::resolve("x_ai").canonical(), "xai");
        assert_eq!(ProviderRef::resolve("my-gateway").canonical(), "my-gateway");
        assert_eq!(
            ProviderRef::resolve("gcp.gen_ai")
                .key_prefixes()
                .collect::<Vec<_>>(),
            ["gemini", "vertex_ai"]
        );
        assert_eq!(
            ProviderRef::resolve("cerebras")
                .key_prefixes()
                .collect::<Vec<_>>(),
            ["cerebras"]
        );
    }

    #[test]
    fn every_alias_is_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for f in FAMILIES {
            for a in f.aliases {
                assert_eq!(*a, a.to_lowercase());
                assert!(seen.insert(*a), "alias {a} listed twice");
            }
        }
    }
}
