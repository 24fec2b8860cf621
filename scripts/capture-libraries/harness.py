"""Shared by the Python drivers: the OTLP/HTTP export to the capture receiver, the app's root spans,
and the flow every driver follows (see README.md in this directory).

Environment: OTLP_ENDPOINT (http://127.0.0.1:PORT/v1/traces), OPENAI_BASE_URL (the fake server),
LIBRARY (names the service).
"""

from __future__ import annotations

import contextlib
import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

ENDPOINT = os.environ.get("OTLP_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
BASE_URL = os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:18999/v1")
LIBRARY = os.environ.get("LIBRARY", "unknown")
SERVICE = f"llm-harness-{LIBRARY}"
CHAT_MODEL = "gpt-4o-mini"
EMBED_MODEL = "text-embedding-3-small"
QUESTION = "Where is my order A-1042?"
FAILING = "FAIL: this request gets HTTP 500"

# What the app sets on its root span: the cohorts llmwatch groups by.
ROOT_ATTRIBUTES = {
    "session.id": "sess-7f3a",
    "tenant.id": "acme-corp",
    "app.route": "/support/order-status",
    "enduser.id": "user-42",
}


def exporter() -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=ENDPOINT)


def provider() -> TracerProvider:
    """A tracer provider of our own, exporting to the capture receiver, set as the global one."""
    tp = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    tp.add_span_processor(BatchSpanProcessor(exporter()))
    trace.set_tracer_provider(tp)
    return tp


@contextlib.contextmanager
def root(name: str = "agent.run", failing: bool = False):
    """The app's root span with its cohort attributes."""
    tracer = trace.get_tracer("llm-harness")
    attrs = dict(ROOT_ATTRIBUTES)
    if failing:
        attrs["session.id"] = "sess-9c1d"
    with tracer.start_as_current_span(name, attributes=attrs) as span:
        yield span


@contextlib.contextmanager
def step(name: str):
    with trace.get_tracer("llm-harness").start_as_current_span(name) as span:
        yield span


def lookup_order(order_id: str) -> str:
    """The tool every flow offers: what the model calls."""
    return f"Order {order_id} shipped on 3 December and arrives on Friday."


def shutdown() -> None:
    tp = trace.get_tracer_provider()
    if hasattr(tp, "force_flush"):
        tp.force_flush()
    if hasattr(tp, "shutdown"):
        tp.shutdown()
