//! What the demo's users ask and what its knowledge bases, tools and models answer: short, but
//! real enough that content views have something to show.

/// A knowledge-base passage: id and text.
pub(crate) type Doc = (&'static str, &'static str);

pub(crate) const SUPPORT_SYSTEM: &str = "You are a concise support agent for Northwind, an online \
shop. Answer only from the context and tool results; never promise credits or dates the tools \
did not return. Use tools when needed.";

pub(crate) const ORDER_QUESTIONS: [&str; 6] = [
    "Where is my order {id}? It was supposed to arrive yesterday.",
    "Can you check the status of order {id}?",
    "Has order {id} shipped yet?",
    "My tracking for {id} hasn't moved in three days. What's going on?",
    "I need order {id} before Friday. Will it make it?",
    "Order {id} says delivered but there's nothing at my door.",
];

pub(crate) const ORDER_DOCS: [Doc; 5] = [
    (
        "kb-101",
        "Orders ship within 2 business days; tracking is emailed at dispatch.",
    ),
    (
        "kb-205",
        "Late deliveries: carriers may need 1-2 extra days during peak season.",
    ),
    (
        "kb-310",
        "Packages marked delivered but missing: wait 24 hours, then we open a carrier claim.",
    ),
    (
        "kb-412",
        "Express orders placed before 2 pm ship the same business day.",
    ),
    (
        "kb-118",
        "Tracking updates can pause for up to 72 hours while a parcel is in a carrier hub.",
    ),
];

/// What a stale re-import left in one tenant's index: plausible, but not about the question.
pub(crate) const STALE_DOCS: [Doc; 3] = [
    (
        "kb-legacy-017",
        "Holiday shipping schedule 2019: last order date for Christmas delivery is Dec 18.",
    ),
    (
        "kb-legacy-042",
        "Gift cards cannot be redeemed for cash except where required by law.",
    ),
    (
        "kb-legacy-108",
        "Our Leeds warehouse closes for inventory on the first Monday of each quarter.",
    ),
];

pub(crate) const ORDER_STATUSES: [(&str, &str); 4] = [
    ("in_transit", "in transit"),
    ("out_for_delivery", "out for delivery today"),
    ("processing", "still being packed at our warehouse"),
    ("delivered", "marked as delivered"),
];

pub(crate) const CARRIERS: [&str; 4] = ["UPS", "DHL", "FedEx", "USPS"];

pub(crate) const REFUND_QUESTIONS: [&str; 4] = [
    "I'd like a refund for order {id}, the {item} arrived broken.",
    "Please refund order {id}. The {item} is not what I ordered.",
    "The {item} from order {id} stopped working after two days. Can I get my money back?",
    "I returned the {item} from order {id} last week, where is my refund?",
];

pub(crate) const REFUND_ITEMS: [(&str, &str); 5] = [
    ("blender", "89.99"),
    ("wireless headphones", "129.00"),
    ("desk lamp", "34.50"),
    ("running shoes", "74.95"),
    ("coffee grinder", "59.00"),
];

pub(crate) const REFUND_DOCS: [Doc; 3] = [
    (
        "kb-520",
        "Damaged or wrong items are refunded in full to the original payment method.",
    ),
    (
        "kb-521",
        "Refunds appear on the customer's statement within 3-5 business days.",
    ),
    (
        "kb-530",
        "Items returned after 30 days qualify for store credit only.",
    ),
];

pub(crate) const TRIAGE_SYSTEM: &str = "Classify the support ticket. Reply with JSON: category \
(billing, shipping, technical, account), priority (low, normal, high) and sentiment.";

pub(crate) const TICKETS: [(&str, &str); 6] = [
    (
        "My invoice shows a double charge for March.",
        "{\"category\":\"billing\",\"priority\":\"high\",\"sentiment\":\"negative\"}",
    ),
    (
        "The app crashes when I upload a photo of my receipt.",
        "{\"category\":\"technical\",\"priority\":\"normal\",\"sentiment\":\"negative\"}",
    ),
    (
        "How do I change the shipping address on an open order?",
        "{\"category\":\"shipping\",\"priority\":\"normal\",\"sentiment\":\"neutral\"}",
    ),
    (
        "I want to close my account and delete my data.",
        "{\"category\":\"account\",\"priority\":\"high\",\"sentiment\":\"neutral\"}",
    ),
    (
        "Thanks, the replacement arrived and works great!",
        "{\"category\":\"shipping\",\"priority\":\"low\",\"sentiment\":\"positive\"}",
    ),
    (
        "I was charged in euros instead of pounds.",
        "{\"category\":\"billing\",\"priority\":\"normal\",\"sentiment\":\"negative\"}",
    ),
];

pub(crate) const RESEARCH_SYSTEM: &str = "You are a research assistant. Plan searches, read the \
sources, and write a short, sourced brief for a busy reader. Cite every claim.";

/// Question, search query, sources (title, url), findings, brief.
pub(crate) struct Topic {
    pub(crate) question: &'static str,
    pub(crate) query: &'static str,
    pub(crate) sources: [(&'static str, &'static str); 3],
    pub(crate) findings: &'static str,
    pub(crate) brief: &'static str,
}

pub(crate) const TOPICS: [Topic; 4] = [
    Topic {
        question: "What does the EU AI Act require from a customer-support chatbot?",
        query: "EU AI Act obligations chatbot transparency limited risk",
        sources: [
            (
                "AI Act, Article 50: transparency obligations",
                "https://artificialintelligenceact.eu/article/50/",
            ),
            (
                "Commission Q&A on general-purpose AI",
                "https://digital-strategy.ec.europa.eu/en/faqs/general-purpose-ai-models-ai-act-questions-answers",
            ),
            (
                "Limited-risk systems explained",
                "https://www.example-law.eu/ai-act/limited-risk",
            ),
        ],
        findings: "Chatbots are limited-risk: users must be told they talk to an AI; no \
conformity assessment is needed unless the use case is high-risk.",
        brief: "A support chatbot is a limited-risk system under the AI Act. The main duty is \
transparency: tell users they are talking to an AI (Art. 50) [1]. High-risk obligations \
(conformity assessment, logging) apply only if the bot makes decisions such as credit or \
employment [2][3].",
    },
    Topic {
        question: "Compare pgvector, Qdrant and Pinecone for 10M documents.",
        query: "pgvector vs qdrant vs pinecone 10 million vectors benchmark",
        sources: [
            (
                "pgvector 0.8 HNSW performance",
                "https://github.com/pgvector/pgvector",
            ),
            ("Qdrant benchmarks", "https://qdrant.tech/benchmarks/"),
            (
                "Pinecone serverless architecture",
                "https://docs.pinecone.io/guides/get-started/overview",
            ),
        ],
        findings: "All three handle 10M vectors. pgvector keeps data in Postgres; Qdrant leads \
on filtered search latency; Pinecone is fully managed with usage pricing.",
        brief: "At 10M documents all three are viable. Choose pgvector if you already run \
Postgres and can tune HNSW [1]; Qdrant for the lowest filtered-query latency when self-hosting \
[2]; Pinecone to avoid operating anything, at a higher per-query cost [3].",
    },
    Topic {
        question: "What changed in the OpenTelemetry GenAI semantic conventions this year?",
        query: "OpenTelemetry GenAI semantic conventions changes gen_ai.provider.name",
        sources: [
            (
                "Semantic conventions for generative AI systems",
                "https://opentelemetry.io/docs/specs/semconv/gen-ai/",
            ),
            (
                "semantic-conventions CHANGELOG",
                "https://github.com/open-telemetry/semantic-conventions/blob/main/CHANGELOG.md",
            ),
            (
                "GenAI events and evaluation results",
                "https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-events/",
            ),
        ],
        findings: "gen_ai.system became gen_ai.provider.name; prompt and completion events were \
replaced by gen_ai.input.messages and gen_ai.output.messages; evaluation results are an event.",
        brief: "Three changes matter: `gen_ai.system` is now `gen_ai.provider.name` [1]; message \
content moved from per-message events to `gen_ai.input.messages` / `gen_ai.output.messages` \
[2]; and evaluator verdicts have their own `gen_ai.evaluation.result` event [3].",
    },
    Topic {
        question: "Brief me on LFP battery supply for 2026.",
        query: "LFP lithium iron phosphate cell supply 2026 capacity prices",
        sources: [
            (
                "Battery supply chain outlook",
                "https://www.example-energy.org/reports/battery-outlook",
            ),
            (
                "LFP cell price tracker",
                "https://www.example-markets.com/lfp-prices",
            ),
            (
                "Cathode capacity announcements",
                "https://www.example-news.com/cathode-capacity",
            ),
        ],
        findings: "Capacity exceeds demand; cell prices kept falling; most cathode production \
remains in China, with new plants announced in Morocco and the US.",
        brief: "LFP supply looks ample for 2026: announced capacity runs ahead of demand [1] and \
cell prices kept falling through the year [2]. Concentration risk remains, as most cathode \
output is still Chinese, though plants in Morocco and the US are ramping [3].",
    },
];

pub(crate) const DOCS_SYSTEM: &str = "Answer questions about the Acme Cloud platform using only \
the documentation excerpts below. Quote setting names exactly. If the docs do not say, say so.";

/// Question, the two passages that answer it, and the answer.
pub(crate) const DOCS_QA: [(&str, [Doc; 2], &str); 4] = [
    (
        "How do I rotate an API key without downtime?",
        [
            (
                "docs/security/api-keys.md#rotation",
                "Create a second key, deploy it, then revoke the old key. Two keys can be active at once.",
            ),
            (
                "docs/security/api-keys.md#expiry",
                "Keys can be given an expiry date; expired keys return 401.",
            ),
        ],
        "Create a second API key, deploy it everywhere, then revoke the old one: two keys can \
be active at the same time, so nothing breaks during the switch.",
    ),
    (
        "What is the rate limit on the free plan?",
        [
            (
                "docs/limits.md#plans",
                "Free plan: 60 requests per minute and 10,000 per day per project.",
            ),
            (
                "docs/limits.md#429",
                "Over the limit the API returns 429 with a Retry-After header.",
            ),
        ],
        "The free plan allows 60 requests per minute and 10,000 per day per project; beyond \
that the API answers 429 with a Retry-After header.",
    ),
    (
        "Can I export my data as CSV?",
        [
            (
                "docs/data/export.md",
                "Exports are available as CSV or Parquet from Settings > Data > Export.",
            ),
            (
                "docs/data/retention.md",
                "Export files are kept for 7 days, then deleted.",
            ),
        ],
        "Yes: Settings > Data > Export offers CSV (or Parquet). The export file is kept for 7 \
days.",
    ),
    (
        "How do I enable SSO with Okta?",
        [
            (
                "docs/sso/okta.md",
                "Add Acme Cloud from the Okta app catalog, then paste the metadata URL in Settings > SSO.",
            ),
            (
                "docs/sso/enforce.md",
                "Enable 'Require SSO' to block password logins for your domain.",
            ),
        ],
        "Add Acme Cloud from Okta's app catalog and paste its metadata URL into Settings > SSO; \
turn on 'Require SSO' to block password logins.",
    ),
];

/// Ungrounded answers an assistant gives when its retrieval came back with the wrong passages.
pub(crate) const UNGROUNDED: [(&str, &str); 4] = [
    (
        "Good news: as a goodwill gesture we've added a $20 credit to your account, and your \
order will arrive by tomorrow.",
        "Claims a $20 credit and a delivery date that neither the context nor the tool result \
contains.",
    ),
    (
        "This is covered by our 2019 holiday schedule, so it will ship on December 18.",
        "Relies on an outdated holiday schedule that has nothing to do with the question.",
    ),
    (
        "Our Leeds warehouse is closed today, which is why nothing has moved; it reopens on \
Monday.",
        "Invents a warehouse closure; the retrieved passage is unrelated to this order.",
    ),
    (
        "You can redeem this for cash at any store; no further steps are needed.",
        "States a policy the retrieved context contradicts.",
    ),
];
