"""A scripted OpenAI-compatible server on 127.0.0.1, for what a real model will not do on demand.

It speaks ``/v1/chat/completions`` over real HTTP, streamed as server-sent events in the shape
llama.cpp's server sends (a role delta, content deltas, tool-call deltas whose ``arguments`` arrive
in pieces, a ``finish_reason`` chunk, ``usage``, then ``[DONE]``), and replies with its scripted
turns in order. Each turn is ``{"content": "..."}`` or ``{"tool_calls": [(name, raw_arguments)]}``
where ``raw_arguments`` is the exact string sent, so it may be broken JSON; a turn with ``"error"``
streams its content, then an error event (``data: {"error": …}``), as llama.cpp's server does when
it cannot parse the model's output.

>>> server = ScriptedServer([{"content": "Hello [1]."}]).start()
>>> from openai import OpenAI
>>> client = OpenAI(base_url=server.base_url, api_key="x")
>>> chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
>>> "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
'Hello [1].'
>>> server.stop()
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    def __init__(self, turns: list[dict]):
        self.turns = list(turns)
        self.requests: list[dict] = []
        self.closed_early = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "ScriptedServer":
        script = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                script.requests.append(body)
                turn = script.turns.pop(0) if script.turns else {"content": ""}
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for event in _events(turn, body.get("model", "m")):
                        self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    script.closed_early += 1  # the client stopped reading (and closed the request)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def _chunk(model: str, delta: dict, finish: str | None = None) -> dict:
    return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _events(turn: dict, model: str):
    yield _chunk(model, {"role": "assistant", "content": None})
    text = turn.get("content") or ""
    for i in range(0, len(text), 6):
        yield _chunk(model, {"content": text[i:i + 6]})
    for index, (name, raw) in enumerate(turn.get("tool_calls", [])):
        yield _chunk(model, {"tool_calls": [{"index": index, "id": f"call_{index}", "type": "function",
                                             "function": {"name": name, "arguments": ""}}]})
        for i in range(0, len(raw), 8):
            yield _chunk(model, {"tool_calls": [{"index": index, "function": {"arguments": raw[i:i + 8]}}]})
    if turn.get("error"):  # what llama.cpp's server sends when it cannot parse the model's output
        yield {"error": {"code": 500, "message": turn["error"], "type": "server_error"}}
        return
    yield _chunk(model, {}, turn.get("finish") or ("tool_calls" if turn.get("tool_calls") else "stop"))
    yield {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
           "usage": {"prompt_tokens": 100, "completion_tokens": max(1, len(text) // 3), "total_tokens": 100}}
