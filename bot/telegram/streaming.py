"""Showing an answer while a language model writes it, by Telegram message edits."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType

from bot.safe_text import safe_text

log = logging.getLogger(__name__)

OnToken = Callable[[str], None]
THINKING = "Tænker … / Thinking …"


class MessageStreamer:
    """Turns streamed tokens into throttled edits of one chat message; independent of any bot library.

    `on_token` may be called from any thread (the service answers in a worker thread). Drafts are edited at
    most once per `interval` seconds, unchanged text is never re-sent, and a failed draft edit is logged and
    skipped (waiting `retry_after` if the error names one). `final(text)` always brings the message to
    `text` (unless it already shows exactly that), respecting the same interval; its errors propagate.

        async with MessageStreamer(edit) as streamer:
            answer = await asyncio.to_thread(service.answer, question, history, streamer.on_token)
            await streamer.final(render(answer))
    """

    def __init__(
        self,
        edit: Callable[[str], Awaitable[None]],
        interval: float = 1.0,
        suffix: str = " …",
        max_chars: int = 4096,
    ) -> None:
        self._edit = edit
        self.interval = interval
        self.suffix = suffix
        self.max_chars = max_chars
        self.edits = 0
        self._parts: list[str] = []
        self._lock = threading.Lock()
        self._last: str | None = None
        self._next_at = 0.0
        self._closed = False
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)

    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._pump())

    async def __aenter__(self) -> MessageStreamer:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def on_token(self, delta: str) -> None:
        """Append streamed text; safe to call from any thread."""
        with self._lock:
            self._parts.append(delta)
        if self._loop is not None and not self._closed:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: nothing left to show
                self._loop.call_soon_threadsafe(self._changed.set)

    async def final(self, text: str, edit: Callable[[str], Awaitable[None]] | None = None) -> None:
        """Show `text` (the rendered, verified answer), after the last draft edit has finished."""
        await self.close()
        delay = self._next_at - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        if text == self._last:
            return
        await (edit or self._edit)(text)
        self._last = text
        self.edits += 1

    async def close(self) -> None:
        """Stop editing drafts without a final edit (e.g. when answering failed)."""
        self._closed = True
        self._closing.set()
        self._changed.set()
        if self._task is not None:
            await self._task

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            await self._changed.wait()
            self._changed.clear()
            if self._closed:
                return
            delay = self._next_at - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), delay)
                if self._closed:
                    return
            await self._edit_draft(loop)

    async def _edit_draft(self, loop: asyncio.AbstractEventLoop) -> None:
        body = safe_text(self.text).strip()
        if not body:
            return
        limit = self.max_chars - len(self.suffix)
        if len(body) > limit:
            body = body[: limit - 1] + "…"
        draft = body + self.suffix
        if draft == self._last:
            return
        wait = self.interval
        try:
            await self._edit(draft)
            self._last = draft
            self.edits += 1
        except Exception as exc:
            retry = _retry_after(exc)
            wait = max(wait, retry)
            log.info("a draft edit failed (%s); next try in %.1f s", type(exc).__name__, wait)
        self._next_at = loop.time() + wait


def _retry_after(exc: BaseException) -> float:
    value = getattr(exc, "retry_after", None)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return 0.0
