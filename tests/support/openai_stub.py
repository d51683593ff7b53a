"""A real local HTTP server playing an OpenAI-compatible `/v1/chat/completions` endpoint.

It records every request (raw body included) and answers according to its mode:

- "ok": a valid structured answer computed from the (redacted) notice it received — an
  extractive summary of the sentences carrying digits or placeholders, placeholders
  echoed back, and translations that are the same text prefixed with "[en] " etc.;
- "invalid": content that is not JSON; "invalid_schema": JSON of the wrong shape;
- "invent": like "ok" plus an invented date (15/12/2026), an invented amount and an
  invented placeholder;
- "long": a summary far over the limit; "partial": no translations at all;
- "5xx": HTTP 500; "slow": sleeps `slow_seconds` before answering;
- "no_json_schema": HTTP 400 to `response_format` json_schema, but answers json_object.

`script` (a list of modes) overrides `mode` for the next requests, one per request.

From async code:   `async with OpenAIStub("ok") as stub: ... stub.base_url ...`
From sync code:    `with OpenAIStub.threaded("ok") as stub: ...`
From a shell:      `python -m tests.support.openai_stub --mode ok --port 8089`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODES = (
    "ok",
    "invalid",
    "invalid_schema",
    "invent",
    "long",
    "partial",
    "5xx",
    "slow",
    "no_json_schema",
)
_PLACEHOLDER = re.compile(r"⟦[A-Z]{1,2}\d{1,3}⟧")


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    mode: str
    json: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body as sent (JSON, possibly with \\u escapes)."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def decoded(self) -> str:
        """The body with every string decoded (no \\u escapes), for searching."""
        return json.dumps(self.json, ensure_ascii=False) if self.json else self.text


class OpenAIStub:
    def __init__(
        self, mode: str = "ok", *, slow_seconds: float = 5.0, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        self.mode = mode
        self.script: list[str] = []
        self.slow_seconds = slow_seconds
        self.requests: list[RecordedRequest] = []
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.base_url = ""

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> str:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenAIStub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    @contextmanager
    def threaded(cls, mode: str = "ok", **kwargs: Any) -> Iterator[OpenAIStub]:
        """The stub on its own event loop in a thread, for synchronous callers."""
        stub = cls(mode, **kwargs)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(stub.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="openai-stub", daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield stub
        finally:
            asyncio.run_coroutine_threadsafe(stub.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # -- inspection ------------------------------------------------------------------
    def bodies(self) -> list[str]:
        """Raw and decoded form of every request body, for leak searches."""
        return [form for r in self.requests for form in (r.text, r.decoded)]

    def reset(self) -> None:
        self.requests.clear()
        self.script.clear()

    # -- handlers --------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        mode = self.script.pop(0) if self.script else self.mode
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            payload = {}
        self.requests.append(
            RecordedRequest(
                request.path,
                dict(request.headers),
                body,
                mode,
                payload if isinstance(payload, dict) else {},
            )
        )
        fmt = (payload.get("response_format") or {}).get("type") if payload else None
        if mode == "5xx":
            return web.json_response(
                {"error": {"message": "stub failure", "type": "server_error", "code": None}},
                status=500,
                headers={"retry-after-ms": "10"},
            )
        if mode == "no_json_schema" and fmt == "json_schema":
            return web.json_response(
                {
                    "error": {
                        "message": "response_format of type 'json_schema' is not supported "
                        "by this server; use 'json_object'",
                        "type": "invalid_request_error",
                        "param": "response_format",
                        "code": None,
                    }
                },
                status=400,
            )
        if mode == "slow":
            assert self._stopping is not None
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.slow_seconds)
            except TimeoutError:
                pass
        content = self._content(mode, payload)
        return web.json_response(_completion(payload.get("model", "stub"), content))

    def _content(self, mode: str, payload: dict[str, Any]) -> str:
        if mode == "invalid":
            return "Xin lỗi, tôi không thể tóm tắt thông báo này."
        if mode == "invalid_schema":
            return json.dumps({"tieu_de": "Thông báo", "noi_dung": 42})
        notice, limit, locales = _read_request(payload)
        answer = answer_for(notice, limit, locales)
        if mode == "invent":
            extra = " Hạn chót nộp hồ sơ 15/12/2026, lệ phí 999.000 đồng, hỏi ⟦P9⟧."
            answer["summary"] = answer["summary"][: max(0, limit - len(extra))] + extra
            for loc, tr in answer["translations"].items():
                tr["text"] += f" [{loc}] Deadline 15/12/2026, fee 999,000 VND."
        if mode == "partial":
            answer["translations"] = {}
        if mode == "long":
            answer["summary"] = (answer["summary"] + " ") * (limit // 10 + 5)
        return json.dumps(answer, ensure_ascii=False)


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-stub-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _read_request(payload: dict[str, Any]) -> tuple[str, int, list[str]]:
    messages = payload.get("messages") or []
    user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    if not isinstance(user, str):
        user = " ".join(part.get("text", "") for part in user if isinstance(part, dict))
    m = re.search(r"<<<\n(.*)\n>>>", user, re.DOTALL)
    notice = m.group(1) if m else user
    everything = " ".join(str(msg.get("content", "")) for msg in messages)
    limit_match = re.search(r"[Ss]ummary limit: at most (\d+) characters", everything)
    limit = int(limit_match.group(1)) if limit_match else 500
    schema = ((payload.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    translations = (schema.get("properties") or {}).get("translations") or {}
    locales = list((translations.get("properties") or {}).keys())
    if not locales and not schema:
        langs = re.search(r"Languages for \"translations\": ([^\n]*)", user)
        if langs:
            locales = re.findall(r"([a-zA-Z]{2,3}(?:[-_][A-Za-z]+)?) \(", langs.group(1))
    return notice, limit, locales


def answer_for(notice: str, limit: int, locales: list[str]) -> dict[str, Any]:
    """A deterministic answer: sentences with digits or placeholders, in order, that fit."""
    lines = [line.strip() for line in notice.splitlines() if line.strip()]
    title = lines[0][:80] if lines else "Thông báo"
    body = lines[1:] if len(lines) > 1 and not lines[0].endswith(".") else lines
    sentences = [s for line in body for s in re.split(r"(?<=[.!?])\s+", line) if s]
    picked: list[str] = []
    for s in sentences:
        if re.search(r"\d|⟦", s) and len(" ".join([*picked, s])) <= limit:
            picked.append(s)
    summary = " ".join(picked) or (sentences[0][:limit] if sentences else title)
    date = re.search(r"\d{1,2}/\d{1,2}/\d{4}", notice)
    clock = re.search(r"\d{1,2} giờ(?: \d{2})?", notice)
    where = re.search(r"số \d+ [A-ZĐ]\w*(?: [A-ZĐ]\w*)*", notice)
    action = next((s for s in sentences if re.match(r"(Đề nghị|Bà con|Người dân)", s)), "")
    facts = {
        "when": ", ".join(x.group() for x in (clock, date) if x),
        "where": where.group() if where else "",
        "who": "",
        "action": action.rstrip("."),
        # Phone placeholders and the public numbers sent as they are, in order.
        "contact": ", ".join(dict.fromkeys(m.group() for m in _CONTACT.finditer(notice))),
    }
    translations = {
        loc: {"title": f"[{loc}] {title}", "text": f"[{loc}] {summary}"} for loc in locales
    }
    return {"title": title, "summary": summary, "facts": facts, "translations": translations}


_CONTACT = re.compile(r"⟦P\d+⟧|(?<![\d.])(?:0\d{2,3}(?: \d{3,4}){2}|1[89]00 ?\d{4,6})(?!\d)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="local OpenAI-compatible stub endpoint")
    parser.add_argument("--mode", default="ok", choices=MODES)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    async def serve() -> None:
        stub = OpenAIStub(args.mode, port=args.port)
        print(f"LOA_AI__BASE_URL={await stub.start()}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await stub.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
