#!/usr/bin/env python3
"""The genuine openai client instrumented by OpenLIT. Prices come from a local file (no pricing
download); metrics and events are off, so only traces are exported."""

from __future__ import annotations

import json
import os
import tempfile

import harness
import openai
import openlit

# OpenLIT's pricing file format, per 1,000 tokens, with the bundled table's prices for the two
# models the flow uses.
PRICING = {
    "chat": {harness.CHAT_MODEL: {"promptPrice": 0.00015, "completionPrice": 0.0006, "cacheReadPrice": 0.000075}},
    "embeddings": {harness.EMBED_MODEL: 0.00002},
    "images": {},
    "audio": {},
}
pricing = os.path.join(tempfile.mkdtemp(), "pricing.json")
with open(pricing, "w") as f:
    json.dump(PRICING, f)

harness.provider()
openlit.init(application_name=harness.SERVICE, environment="capture", pricing_json=pricing,
             disable_metrics=True, disable_events=True, collect_gpu_stats=False)

import openai_flow  # noqa: E402

openai_flow.run(openai.OpenAI(base_url=harness.BASE_URL, api_key="sk-fake", max_retries=0))
harness.shutdown()
