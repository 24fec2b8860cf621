"""The flow of README.md with the genuine `openai` client, for the libraries that instrument the
client itself (OpenLIT, Langfuse's drop-in): embedding, chat with a tool call, the tool, streamed
chat, then a second trace whose chat gets HTTP 500."""

from __future__ import annotations

import json

import harness

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Looks up where an order is.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
}]


def run(client, extra=None) -> None:
    """`client` is an `openai.OpenAI`; `extra` adds keyword arguments to every call."""
    extra = extra or {}
    with harness.root():
        with harness.step("retrieve"):
            client.embeddings.create(model=harness.EMBED_MODEL, input=harness.QUESTION, **extra)
        messages = [{"role": "user", "content": harness.QUESTION}]
        first = client.chat.completions.create(model=harness.CHAT_MODEL, messages=messages, tools=TOOLS, **extra)
        call = first.choices[0].message.tool_calls[0]
        messages.append({"role": "assistant", "content": None, "tool_calls": [call.model_dump()]})
        with harness.step("execute_tool get_order_status"):
            result = harness.lookup_order(json.loads(call.function.arguments)["order_id"])
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        stream = client.chat.completions.create(model=harness.CHAT_MODEL, messages=messages, stream=True,
                                                stream_options={"include_usage": True}, **extra)
        for _ in stream:
            pass

    with harness.root(failing=True):
        try:
            client.chat.completions.create(model=harness.CHAT_MODEL,
                                           messages=[{"role": "user", "content": harness.FAILING}], **extra)
        except Exception as e:  # the 500 is the point
            print("expected failure:", type(e).__name__)
