#!/usr/bin/env python3
"""LangChain (langchain-openai) instrumented by traceAI-langchain: the flow of README.md."""

from __future__ import annotations

import harness
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from traceai_langchain import LangChainInstrumentor

tp = harness.provider()
LangChainInstrumentor().instrument(tracer_provider=tp)


@tool
def get_order_status(order_id: str) -> str:
    """Looks up where an order is."""
    return harness.lookup_order(order_id)


# check_embedding_ctx_length=False: no tiktoken tokenizer download.
embeddings = OpenAIEmbeddings(model=harness.EMBED_MODEL, base_url=harness.BASE_URL, api_key="sk-fake",
                              check_embedding_ctx_length=False)
chat = ChatOpenAI(model=harness.CHAT_MODEL, base_url=harness.BASE_URL, api_key="sk-fake", max_retries=0)
streaming = ChatOpenAI(model=harness.CHAT_MODEL, base_url=harness.BASE_URL, api_key="sk-fake", max_retries=0,
                       streaming=True, stream_usage=True)

with harness.root():
    with harness.step("retrieve"):
        embeddings.embed_query(harness.QUESTION)
    messages = [HumanMessage(harness.QUESTION)]
    answer = chat.bind_tools([get_order_status]).invoke(messages)
    messages.append(answer)
    for call in answer.tool_calls:
        result = get_order_status.invoke(call["args"])
        messages.append(ToolMessage(result, tool_call_id=call["id"]))
    for _ in streaming.stream(messages):
        pass

with harness.root(failing=True):
    try:
        chat.invoke([HumanMessage(harness.FAILING)])
    except Exception as e:  # the 500 is the point
        print("expected failure:", type(e).__name__)

harness.shutdown()
