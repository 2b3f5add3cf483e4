"""Reaching the Telegram Bot API at start, and showing from outside that the bot is alive.

At start the bot asks the API who it is, and on a network failure asks again with a growing pause, one log
line per attempt, a bounded number of times; then `kilde bot` stops with one line (a container's restart
policy takes over from there). While it runs, every successful long poll (`getUpdates`) touches a heartbeat
file (`KILDE_HEARTBEAT_FILE`, holding the bot's process id, removed when it stops), so a health check (`python -m bot.telegram.health`) can tell a bot that polls from one
whose process merely exists.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from telegram.error import InvalidToken, NetworkError
from telegram.request import HTTPXRequest

from retrieval.errors import KildeError
from retrieval.secrets import redact

LOG = logging.getLogger(__name__)
T = TypeVar("T")
# Pauses between attempts to reach the Bot API at start: 8 attempts over about two minutes.
START_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 16, 30, 60)
HEARTBEAT_EVERY = (
    10.0  # seconds between touches; a long poll returns at least every 10 s (run_polling's timeout)
)


async def wait_for_bot_api(
    probe: Callable[[], Awaitable[T]], host: str, delays: tuple[float, ...] | None = None
) -> T:
    """`await probe()`, again after network failures with the pauses in `delays` (default `START_DELAYS`).

    A rejected token is not retried. After the last attempt a `KildeError` says what failed, in one line.
    """
    pauses = START_DELAYS if delays is None else delays
    attempts = len(pauses) + 1
    for attempt in range(1, attempts + 1):
        try:
            return await probe()
        except InvalidToken:
            raise
        except NetworkError as exc:  # includes TimedOut; 5xx answers from the API are NetworkErrors too
            reason = redact(f"{type(exc).__name__}: {exc}")
            if attempt == attempts:
                raise KildeError(
                    f"cannot reach the Telegram Bot API at {host} ({reason}); gave up after {attempts} attempts"
                ) from None
            pause = pauses[attempt - 1]
            LOG.warning(
                "cannot reach the Telegram Bot API at %s (%s); attempt %d of %d, next in %g s",
                host,
                reason,
                attempt,
                attempts,
                pause,
            )
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


class Heartbeat:
    """Writes the process id into `path` (at most every `every` seconds) to show that the bot is alive; `stop`
    removes it, so a bot that stopped cleanly is unhealthy at once rather than after the heartbeat's max age."""

    def __init__(self, path: Path, every: float | None = None) -> None:
        self.path = path
        self.every = HEARTBEAT_EVERY if every is None else every
        self._last = float("-inf")
        self._stopped = False

    def beat(self) -> None:
        now = time.monotonic()
        if self._stopped or now - self._last < self.every:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError as exc:  # a health check that fails is the right outcome; the bot keeps answering
            LOG.warning("cannot write the heartbeat file %s: %s", self.path, exc)
        self._last = now

    def stop(self) -> None:
        """Remove the heartbeat (if it is this process's) and write no more."""
        self._stopped = True
        try:
            if self.path.read_text(encoding="ascii").strip() == str(os.getpid()):
                self.path.unlink()
        except (OSError, UnicodeDecodeError):
            pass  # none, or not ours


async def beat_forever(heartbeat: Heartbeat) -> None:
    """Webhook mode has no long poll (Telegram calls in): beat as long as the bot's event loop runs."""
    while True:
        heartbeat.beat()
        await asyncio.sleep(heartbeat.every)


class HeartbeatRequest(HTTPXRequest):
    """The request object for `getUpdates` only: each successful long poll is a heartbeat."""

    def __init__(self, heartbeat: Heartbeat | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heartbeat = heartbeat

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if code == 200 and self.heartbeat is not None:
            self.heartbeat.beat()
        return code, payload
