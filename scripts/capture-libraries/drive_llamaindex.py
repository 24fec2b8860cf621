#!/usr/bin/env python3
"""LlamaIndex 0.14 (llama-index-llms-openai, llama-index-embeddings-openai) instrumented by
openinference-instrumentation-llama-index: the flow of README.md."""

from __future__ import annotations

import harness
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

tp = harness.provider()
LlamaIndexInstrumentor().instrument(tracer_provider=tp)


def get_order_status(order_id: str) -> str:
    """Looks up where an order is."""
    return harness.lookup_order(order_id)


llm = OpenAI(model=harness.CHAT_MODEL, api_base=harness.BASE_URL, api_key="sk-fake", max_retries=0)
embed = OpenAIEmbedding(model=harness.EMBED_MODEL, api_base=harness.BASE_URL, api_key="sk-fake", max_retries=0)
tool = FunctionTool.from_defaults(fn=get_order_status)

with harness.root():
    with harness.step("retrieve"):
        embed.get_query_embedding(harness.QUESTION)
    response = llm.chat_with_tools([tool], user_msg=harness.QUESTION)
    messages = [ChatMessage(role="user", content=harness.QUESTION), response.message]
    for call in llm.get_tool_calls_from_response(response, error_on_no_tool_call=False):
        result = tool.call(**call.tool_kwargs)
        messages.append(ChatMessage(role="tool", content=str(result),
                                    additional_kwargs={"tool_call_id": call.tool_id, "name": call.tool_name}))
    for _ in llm.stream_chat(messages):
        pass

with harness.root(failing=True):
    try:
        llm.chat([ChatMessage(role="user", content=harness.FAILING)])
    except Exception as e:  # the 500 is the point
        print("expected failure:", type(e).__name__)

harness.shutdown()
