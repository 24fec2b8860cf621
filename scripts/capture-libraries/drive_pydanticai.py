#!/usr/bin/env python3
"""Pydantic AI instrumented through logfire (`send_to_logfire=False`: spans go only to the
harness's OTLP exporter): an agent with a tool, run once plainly and once streamed, then a run
whose model call gets HTTP 500; the embedding goes through the genuine openai client inside a
logfire-instrumented step."""

from __future__ import annotations

import asyncio

import harness
import logfire
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

logfire.configure(send_to_logfire=False, console=False, scrubbing=False, service_name=harness.SERVICE,
                  additional_span_processors=[BatchSpanProcessor(harness.exporter())], metrics=False)
logfire.instrument_pydantic_ai()

import openai  # noqa: E402

client = openai.OpenAI(base_url=harness.BASE_URL, api_key="sk-fake", max_retries=0)
logfire.instrument_openai(client)

model = OpenAIChatModel(harness.CHAT_MODEL,
                        provider=OpenAIProvider(openai_client=openai.AsyncOpenAI(base_url=harness.BASE_URL,
                                                                                 api_key="sk-fake",
                                                                                 max_retries=0)))
agent = Agent(model, name="support_agent", instructions="Answer questions about orders.")


@agent.tool_plain
def get_order_status(order_id: str) -> str:
    """Looks up where an order is."""
    return harness.lookup_order(order_id)


async def flow() -> None:
    # One event loop for the whole flow: the async client's connections belong to it.
    with harness.root():
        with harness.step("retrieve"):
            client.embeddings.create(model=harness.EMBED_MODEL, input=harness.QUESTION)
        await agent.run(harness.QUESTION)
        async with agent.run_stream(harness.QUESTION) as result:
            async for _ in result.stream_text():
                pass

    with harness.root(failing=True):
        try:
            await agent.run(harness.FAILING)
        except Exception as e:  # the 500 is the point
            print("expected failure:", type(e).__name__)


asyncio.run(flow())
logfire.force_flush()
harness.shutdown()
