#!/usr/bin/env python3
"""The genuine openai client through Langfuse's drop-in (`langfuse.openai`), Langfuse Python SDK 3
(OTel-based). Langfuse gets our tracer provider; its own exporter points at a closed loopback port
(no cloud), so the spans reach llmwatch only through the harness's OTLP exporter."""

from __future__ import annotations

import os

os.environ.setdefault("LANGFUSE_PUBLIC_KEY", "pk-lf-capture")
os.environ.setdefault("LANGFUSE_SECRET_KEY", "sk-lf-capture")
os.environ.setdefault("LANGFUSE_BASE_URL", "http://127.0.0.1:9")
os.environ.setdefault("LANGFUSE_HOST", "http://127.0.0.1:9")

import harness  # noqa: E402
from langfuse import Langfuse  # noqa: E402

tp = harness.provider()
langfuse = Langfuse(public_key=os.environ["LANGFUSE_PUBLIC_KEY"], secret_key=os.environ["LANGFUSE_SECRET_KEY"],
                    base_url=os.environ["LANGFUSE_BASE_URL"], tracer_provider=tp, environment="capture")

from langfuse.openai import OpenAI  # noqa: E402

import openai_flow  # noqa: E402

openai_flow.run(OpenAI(base_url=harness.BASE_URL, api_key="sk-fake", max_retries=0))
harness.shutdown()
