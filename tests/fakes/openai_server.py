"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests: scripted replies, every request recorded.

POST /v1/chat/completions answers streamed (SSE `data: {...}` chunks, then `data: [DONE]`) or not, as asked.
A condense request (its prompt says "Follow-up question:") gets `condense_reply`; an answer request behaves
as `mode` says:

- "cited":          the first sentence of source 1, cited [1] (read from the request's <sources> block)
- "bad_number":     like "cited", plus a second sentence citing [7]
- "uncited":        a plausible answer without any [n]
- "wrong_language": an English answer (cited) whatever the question's language
- "refuse":         the refusal marker
- "cut":            a stream that stops halfway: the connection is dropped mid-answer
- "cut_clean":      a stream that ends early without finish_reason or [DONE]
- "error500":       HTTP 500 with an OpenAI-style error body
- "garbage":        HTTP 200 with a body that is not JSON
- "hang":           never answers (sleeps until the server stops), past any client timeout
- "scripted":       the next reply of `script` (e.g. the adversarial replies in adversarial_replies.yaml)
- "echo":           the request's own prompt back, as a base model that only continues its input does
                    (the answer prompt holds the refusal marker; the condense prompt, the rewrite instructions)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODES = [
    "cited",
    "bad_number",
    "uncited",
    "wrong_language",
    "refuse",
    "cut",
    "cut_clean",
    "error500",
    "garbage",
    "hang",
    "scripted",
    "echo",
]
_SOURCE = re.compile(r'<source n="(\d+)"[^>]*>\n(.*?)\n</source>', re.DOTALL)


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)

    @property
    def is_condense(self) -> bool:
        return "Follow-up question:" in self.content("user")


@dataclass
class FakeOpenAIServer:
    mode: str = "cited"
    condense_reply: str = "Hvor gammel er Kim Them Serup?"
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    hang_seconds: float = 30.0
    script: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def answer_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.is_condense]

    @property
    def condense_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_condense]

    async def start(self) -> FakeOpenAIServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeOpenAIServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- replies -----------------------------------------------------------------------------------------------

    def reply_text(self, recorded: Recorded) -> str:
        if self.mode == "echo":
            return recorded.content("system") + "\n" + recorded.content("user")
        if recorded.is_condense:
            return self.condense_reply
        if self.mode == "scripted":
            return self.script.pop(0)
        sources = dict(_SOURCE.findall(recorded.content("user")))
        first = _first_sentence(sources.get("1", "Ingen kilde."))
        if self.mode == "bad_number":
            return f"{first} [1]. Desuden fik han en pris for sit arbejde [7]."
        if self.mode == "uncited":
            return f"{first} Det står i artiklerne."
        if self.mode == "wrong_language":
            return "According to the article, he is moving to a new job in the municipality and he is happy about it [1]."
        if self.mode == "refuse":
            return "NO_ANSWER"
        return f"{first} [1]."

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "bad json"}}, status=400)
        recorded = Recorded(body, dict(request.headers))
        self.requests.append(recorded)
        mode = "cited" if recorded.is_condense and self.mode != "echo" else self.mode
        if mode == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.hang_seconds)
            return web.json_response({"error": {"message": "too late"}}, status=504)
        if mode == "error500":
            return web.json_response(
                {"error": {"message": "model crashed", "type": "server_error", "code": 500}}, status=500
            )
        if mode == "garbage":
            return web.Response(
                text="<html>502 upstream sent nonsense</html>", content_type="application/json"
            )
        text = self.reply_text(recorded)
        if body.get("stream"):
            return await self._stream(request, body, text, mode)
        if mode in {"cut", "cut_clean"}:
            return await self._cut_plain(request, body, text)
        return web.json_response(_completion(body, text))

    async def _stream(
        self, request: web.Request, body: dict[str, Any], text: str, mode: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        tokens = re.findall(r"\S+\s*|\s+", text)
        if mode in {"cut", "cut_clean"}:
            tokens = tokens[: max(1, len(tokens) // 2)]
        await _event(response, _chunk(body, {"role": "assistant", "content": ""}, None))
        for token in tokens:
            await _event(response, _chunk(body, {"content": token}, None))
            await asyncio.sleep(0)
        if mode == "cut":
            assert request.transport is not None
            request.transport.close()  # dropped mid-answer: no end of the chunked body
            return response
        if mode != "cut_clean":
            await _event(response, _chunk(body, {}, "stop"))
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _cut_plain(self, request: web.Request, body: dict[str, Any], text: str) -> web.StreamResponse:
        payload = json.dumps(_completion(body, text)).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        assert request.transport is not None
        request.transport.close()
        return response


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])\s", text + " ")
    sentence = match.group(1) if match else text
    return sentence.rstrip(".!?")


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def _event(response: web.StreamResponse, data: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(data)}\n\n".encode())
