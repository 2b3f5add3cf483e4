"""A fake Telegram Bot API server on 127.0.0.1 for tests and benchmarks: scripted updates, every call recorded.

Routes `/bot{token}/{method}` (GET or POST, form or JSON parameters, as python-telegram-bot sends them).
`getUpdates` hands scripted updates out as Telegram does: an update is returned until a later call's `offset`
confirms it (so a bot that drops or repeats updates shows it), long-polling briefly when none is waiting;
`sendMessage`,
`editMessageText`, `sendChatAction`, `answerCallbackQuery`, `setMyCommands`, ... are recorded in `calls`
(method, decoded parameters, HTTP status, monotonic timestamp), in the order they arrived.

Failures on demand: `fail_next("sendMessage", 2, 429, retry_after=1)` answers the next two sendMessage calls
with "Too Many Requests"; `reject_html(1)` answers the next HTML sendMessage with 400 "can't parse entities";
`drop_next("sendMessage")` closes the connection without an answer (a transient network error).

Files: `document(chat_id, name, data)` queues a message carrying a document whose bytes the server keeps;
`getFile` answers with its `file_path` (400 "file is too big" above the Bot API's 20 MB, as Telegram does), and
`/file/bot{token}/{file_path}` serves the bytes. Downloads are recorded as calls of the method "download".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_RAW = {"text", "caption", "callback_query_id", "secret_token", "url", "data", "query", "description"}
_TRUE_METHODS = {
    "sendChatAction", "answerCallbackQuery", "setMyCommands", "deleteMyCommands", "deleteWebhook",
    "setWebhook", "close", "logOut", "deleteMessage", "setChatMenuButton",
}  # fmt: skip


@dataclass
class Call:
    """One Bot API request as the server saw it."""

    method: str
    params: dict[str, Any]
    status: int
    at: float  # time.monotonic()

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None = None


def utf16_len(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


@dataclass
class FakeTelegramServer:
    token: str = "123456:TEST-fake-token"
    bot_id: int = 4242
    username: str = "kilde_test_bot"
    long_poll_cap: float = 0.3  # seconds a getUpdates waits at most for new updates
    calls: list[Call] = field(default_factory=list)
    pushed_at: dict[int, float] = field(default_factory=dict)  # update_id -> when the test pushed it
    url: str = ""
    get_updates_count: int = 0
    confirmed_offset: int = 0  # highest `offset` a getUpdates asked for: updates below it reached the bot
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    _bot_messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _failures: dict[str, list[_Failure | None]] = field(default_factory=dict)
    _reject_html: int = 0
    _next_update: int = 1
    _next_message: int = 1
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _sent_by_chat: dict[int, list[Call]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, bytes)

    # -- life cycle ---------------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """What the bot's builder takes as `base_url` (the token is appended to it)."""
        return f"{self.url}/bot"

    async def start(self) -> FakeTelegramServer:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- scripting updates --------------------------------------------------------------------------------------

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Kilde", "username": self.username}

    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        if chat_id not in self._chats or chat_type:
            kind = chat_type or ("private" if chat_id > 0 else "supergroup")
            chat: dict[str, Any] = {"id": chat_id, "type": kind}
            if kind == "private":
                chat["first_name"] = f"User{chat_id}"
            else:
                chat["title"] = f"Chat {chat_id}"
            self._chats[chat_id] = chat
        return self._chats[chat_id]

    def push(self, update: dict[str, Any], *, deliver: bool = True) -> dict[str, Any]:
        """Queue a raw update (its update_id is assigned here) for getUpdates; with `deliver=False` only build
        it (for `Application.process_update` or a webhook post)."""
        update = {"update_id": self._next_update, **update}
        self._next_update += 1
        if not deliver:
            self.confirmed_offset = max(self.confirmed_offset, self._next_update)
            return update
        self.pushed_at[update["update_id"]] = time.monotonic()
        self._pending.append(update)
        self._arrived.set()
        self._arrived = asyncio.Event()  # long polls in progress hold the old one, now set
        return update

    def message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        language_code: str = "da",
        reply_to: dict[str, Any] | None = None,
        kind: str = "message",
        deliver: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a message from a user. `/commands` and `@mentions` in `text` get their entities."""
        chat = self.chat(chat_id, chat_type)
        sender = user_id if user_id is not None else (chat_id if chat["type"] == "private" else 1000)
        msg: dict[str, Any] = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": {
                "id": sender,
                "is_bot": False,
                "first_name": f"User{sender}",
                "language_code": language_code,
            },
        }
        if kind == "channel_post":
            del msg["from"]
        if text is not None:
            msg["text"] = text
            entities = _entities(text)
            if entities:
                msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        msg.update(extra)
        return self.push({kind: msg}, deliver=deliver)

    def callback(
        self,
        chat_id: int,
        data: str,
        *,
        message: dict[str, Any] | None = None,
        user_id: int | None = None,
        language_code: str = "da",
    ) -> dict[str, Any]:
        """Queue a click on an inline button under `message` (default: the bot's last message in the chat)."""
        message = message or self.bot_messages(chat_id)[-1]
        sender = user_id if user_id is not None else chat_id
        query = {
            "id": f"cq{self._next_update}",
            "from": {
                "id": sender,
                "is_bot": False,
                "first_name": f"User{sender}",
                "language_code": language_code,
            },
            "chat_instance": f"ci{chat_id}",
            "message": message,
            "data": data,
        }
        return self.push({"callback_query": query})

    def add_file(self, data: bytes, name: str = "file", mime_type: str | None = None) -> dict[str, Any]:
        """Keep `data` for getFile and the download; the Document object a message carries."""
        file_id = f"file{len(self._files) + 1}"
        self._files[file_id] = (f"documents/{file_id}{_suffix(name)}", data)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": len(data),
        }
        if mime_type:
            document["mime_type"] = mime_type
        return document

    def document(
        self,
        chat_id: int,
        name: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        claimed_size: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a message with a document (`claimed_size`: the file_size Telegram reports, if not the real one)."""
        document = self.add_file(data, name, mime_type)
        if claimed_size is not None:
            document["file_size"] = claimed_size
        extra: dict[str, Any] = {"document": document}
        if caption is not None:
            extra["caption"] = caption
        return self.message(chat_id, **kwargs, **extra)

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages the bot sent to a chat, as Telegram returned them."""
        return self._bot_messages.get(chat_id, [])

    # -- failures -----------------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = 429,
        description: str = "",
        retry_after: int | None = None,
    ) -> None:
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or (f"Too Many Requests: retry after {retry_after}" if status == 429 else "Error")
        self._failures.setdefault(method, []).extend([_Failure(status, text, retry_after)] * count)

    def drop_next(self, method: str, count: int = 1) -> None:
        """Close the connection without answering the next `count` calls of `method`."""
        self._failures.setdefault(method, []).extend([None] * count)

    def reject_html(self, count: int = 1) -> None:
        """Answer the next `count` sendMessage calls with parse_mode=HTML with 400 "can't parse entities"."""
        self._reject_html += count

    # -- reading what happened ----------------------------------------------------------------------------------

    def requests(self, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if method is None or c.method == method]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls (to one chat), in order."""
        if chat_id is not None:
            return list(self._sent_by_chat.get(chat_id, []))
        return [c for c in self.calls if c.method == "sendMessage" and c.ok]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.sent(chat_id)]

    def all_delivered(self) -> bool:
        """Every pushed update was fetched and confirmed (the bot asked for a later offset)."""
        return self.confirmed_offset >= self._next_update

    async def wait_for(
        self, predicate: Callable[[], bool], within: float = 5.0, what: str = "condition"
    ) -> None:
        """Wake on every recorded call (and every 20 ms, for predicates about other things)."""
        deadline = time.monotonic() + within
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; calls so far:\n{self.transcript()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.02))

    async def wait_sent(self, chat_id: int, count: int = 1, within: float = 5.0) -> list[Call]:
        await self.wait_for(
            lambda: len(self.sent(chat_id)) >= count, within, f"{count} message(s) to {chat_id}"
        )
        return self.sent(chat_id)

    def transcript(self, methods: set[str] | None = None, width: int = 100) -> str:
        """The recorded calls as readable lines, for failure messages and reports."""
        start = self.calls[0].at if self.calls else 0.0
        lines = []
        for c in self.calls:
            if methods and c.method not in methods:
                continue
            shown = {k: v for k, v in c.params.items() if k not in {"chat_id", "text"}}
            body = c.text.replace("\n", "⏎")
            body = body if len(body) <= width else body[: width - 1] + "…"
            lines.append(
                f"{c.at - start:7.3f}s {c.status} {c.method:<19} chat={c.chat_id} {body!r} {shown or ''}"
            )
        return "\n".join(lines)

    # -- the API ------------------------------------------------------------------------------------------------

    def _record(self, method: str, params: dict[str, Any], status: int) -> Call:
        call = Call(method, params, status, time.monotonic())
        self.calls.append(call)
        if method == "sendMessage" and status == 200 and call.chat_id is not None:
            self._sent_by_chat.setdefault(call.chat_id, []).append(call)
        self._changed.set()
        self._changed = asyncio.Event()
        return call

    def _message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            raw: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
        else:
            try:
                form = await request.post()
            except ConnectionError:  # the client gave up (e.g. a cancelled "typing" request)
                raise web.HTTPBadRequest from None
            raw = {**request.query, **{k: v for k, v in form.items() if isinstance(v, str)}}
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _RAW or not isinstance(value, str):
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "getMe":
            return _ok(self.bot_user)
        if method == "getFile":
            return self._get_file(params)
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            if failure is None:
                self._record(method, params, 0)
                if request.transport is not None:
                    request.transport.close()
                raise web.HTTPServiceUnavailable
            self._record(method, params, failure.status)
            return _error(failure.status, failure.description, failure.retry_after)
        if method == "sendMessage" and params.get("parse_mode") == "HTML" and self._reject_html > 0:
            self._reject_html -= 1
            self._record(method, params, 400)
            return _error(
                400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0'
            )
        known = {"sendMessage", "editMessageText", "getWebhookInfo", "getMyCommands"} | _TRUE_METHODS
        self._record(method, params, 200 if method in known else 404)
        if method in {"sendMessage", "editMessageText"}:
            return _ok(self._message(method, params))
        if method == "getWebhookInfo":
            return _ok(
                {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
            )
        if method == "getMyCommands":
            return _ok([])
        if method in _TRUE_METHODS:
            return _ok(True)
        return _error(404, "Not Found: method not found")

    def _get_file(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params.get("file_id", ""))
        if file_id not in self._files:
            self._record("getFile", params, 400)
            return _error(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        if len(data) > DOWNLOAD_LIMIT:
            self._record("getFile", params, 400)
            return _error(400, "Bad Request: file is too big")
        self._record("getFile", params, 200)
        return _ok(
            {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": path}
        )

    async def _download(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if request.match_info["token"] != self.token:
            self._record("download", {"path": path}, 401)
            return _error(401, "Unauthorized")
        data = next((d for p, d in self._files.values() if p == path), None)
        self._record("download", {"path": path}, 200 if data is not None else 404)
        if data is None:
            return _error(404, "Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        self.get_updates_count += 1
        offset = int(params.get("offset") or 0)
        if offset > 0:  # confirms every update below it, as Telegram does
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.long_poll_cap)
        while not self._pending and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
        limit = int(params.get("limit") or 100)
        return _ok(self._pending[:limit])

    def _message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": int(params.get("message_id") or self._message_id()),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user,
            "text": params.get("text", ""),
        }
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        if method == "sendMessage":
            self._bot_messages.setdefault(chat_id, []).append(message)
        return message


DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses larger files


def _suffix(name: str) -> str:
    match = re.search(r"\.[A-Za-z0-9]{1,8}$", name)
    return match.group(0).lower() if match else ""


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command at the start, mention for every @name, with offsets in UTF-16 units as Telegram sends them."""
    entities = []
    for pattern, kind in ((r"^/\w+(?:@\w+)?", "bot_command"), (r"(?<!\w)@\w{3,}", "mention")):
        for m in re.finditer(pattern, text):
            entities.append(
                {"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
            )
    return sorted(entities, key=lambda e: e["offset"])
