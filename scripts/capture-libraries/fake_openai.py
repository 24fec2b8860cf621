#!/usr/bin/env python3
"""A fake OpenAI-compatible server on loopback for the library captures: no network, fixed answers.

- POST /v1/embeddings: an 8-dimension vector per input, usage.prompt_tokens = words x 4.
- POST /v1/chat/completions:
  - a last user message containing "FAIL" gets HTTP 500 (an OpenAI-shaped error body);
  - a request offering tools whose messages hold no tool result yet gets one tool call
    (`get_order_status`, {"order_id": "A-1042"}) and no text;
  - `stream: true` gets server-sent chunks, 120 ms before the first, with usage in a last chunk
    (whatever `stream_options` says) that counts 64 cached prompt tokens;
  - anything else gets a short text answer.
Answers name the dated snapshot `gpt-4o-mini-2024-07-18` as the model.
Usage: fake_openai.py PORT (prints "ready" on stdout once listening).
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SNAPSHOT = "gpt-4o-mini-2024-07-18"
ANSWER = "Order A-1042 shipped on 3 December and arrives on Friday."


def prompt_tokens(messages) -> int:
    text = json.dumps(messages)
    return 40 + len(text) // 8


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def send_json(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self.send_json(200, {"object": "list", "data": [{"id": SNAPSHOT, "object": "model"}]})
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except json.JSONDecodeError:
            self.send_json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
            return
        if self.path.endswith("/embeddings"):
            self.embeddings(req)
        elif self.path.endswith("/chat/completions"):
            self.chat(req)
        else:
            self.send_json(404, {"error": {"message": f"no route {self.path}"}})

    def embeddings(self, req: dict) -> None:
        inputs = req.get("input")
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        inputs = inputs or [""]
        data = [
            {"object": "embedding", "index": i, "embedding": [0.125 * ((i + k) % 8) for k in range(8)]}
            for i, _ in enumerate(inputs)
        ]
        words = sum(len(str(x).split()) for x in inputs)
        tokens = max(1, words) * 4
        self.send_json(200, {
            "object": "list",
            "data": data,
            "model": req.get("model", "text-embedding-3-small"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })

    def chat(self, req: dict) -> None:
        messages = req.get("messages") or []
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last_user.get("content")
        if not isinstance(content, str):
            content = json.dumps(content)
        if "FAIL" in content:
            self.send_json(500, {"error": {"message": "The server had an error while processing your request.",
                                           "type": "server_error", "param": None, "code": None}})
            return
        has_tool_result = any(m.get("role") == "tool" for m in messages)
        p = prompt_tokens(messages)
        created = int(time.time())
        if req.get("tools") and not has_tool_result:
            call = {"id": "call_lookup_1", "type": "function",
                    "function": {"name": "get_order_status", "arguments": json.dumps({"order_id": "A-1042"})}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish, completion = "tool_calls", 18
        else:
            message = {"role": "assistant", "content": ANSWER}
            finish, completion = "stop", 14
        if req.get("stream"):
            self.stream(req, message, finish, p, completion, created)
            return
        self.send_json(200, {
            "id": "chatcmpl-fake-" + str(created),
            "object": "chat.completion",
            "created": created,
            "model": SNAPSHOT,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": p, "completion_tokens": completion, "total_tokens": p + completion,
                      "prompt_tokens_details": {"cached_tokens": 0}},
            "system_fingerprint": "fp_fake",
        })

    def stream(self, req, message, finish, p, completion, created) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        cid = "chatcmpl-fake-stream-" + str(created)

        def chunk(delta, finish_reason=None, usage=None, choices=True):
            body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": SNAPSHOT,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}] if choices else []}
            if usage is not None:
                body["usage"] = usage
            self.wfile.write(b"data: " + json.dumps(body).encode() + b"\n\n")
            self.wfile.flush()

        time.sleep(0.12)
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            chunk({"role": "assistant", "content": None,
                   "tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                   "function": {"name": call["function"]["name"], "arguments": ""}}]})
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]})
        else:
            chunk({"role": "assistant", "content": ""})
            for word in ANSWER.split(" "):
                time.sleep(0.01)
                chunk({"content": word + " "})
        chunk({}, finish_reason=finish)
        cached = min(64, p)
        chunk({}, usage={"prompt_tokens": p, "completion_tokens": completion, "total_tokens": p + completion,
                         "prompt_tokens_details": {"cached_tokens": cached}}, choices=False)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
