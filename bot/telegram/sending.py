"""Sending to Telegram: retries on transient network errors, long texts split, plain text when HTML is rejected,
and "typing …" while an answer is being built."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.telegram.render import html_to_plain, split_message
from retrieval.secrets import redact

T = TypeVar("T")
LOG = logging.getLogger("bot.telegram.app")
SEND_ATTEMPTS = 3  # on transient network errors; 429s are retried by the rate limiter
RETRY_DELAY = 0.5
TYPING_EVERY = 4.5  # Telegram shows "typing" for about 5 s


def describe(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {redact(str(error))}" if error else "unknown error"


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, again on transient network errors (a few times, with a growing pause)."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError as exc:  # includes TimedOut
            if attempt == SEND_ATTEMPTS:
                raise
            LOG.warning("sending failed (%s); trying again", describe(exc))
            await asyncio.sleep(RETRY_DELAY * attempt)
    raise AssertionError("unreachable")


def _is_markup_error(exc: BadRequest) -> bool:
    return bool(re.search(r"parse entities|can't parse|entity|unsupported start tag", exc.message, re.I))


async def reply(
    message: Message,
    body: str,
    *,
    html: bool = True,
    keyboard: InlineKeyboardMarkup | None = None,
    quote: bool | None = None,
) -> Message | None:
    """Send `body` (Telegram HTML, or plain text when `html` is False) in as many parts as it takes, the
    keyboard under the last part, the first part quoting `message` if `quote` (default: in groups, where it
    shows whose question is answered). When Telegram rejects the markup, the text goes out as plain text.
    Returns the last message sent (None for an empty body)."""
    mode = ParseMode.HTML if html else None
    parts = split_message(body, is_html=html)
    quote_first = message.chat.type != ChatType.PRIVATE if quote is None else quote
    sent: Message | None = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        send = partial(
            message.reply_text,
            part,
            parse_mode=mode,
            reply_markup=keyboard if last else None,
            do_quote=quote_first and index == 0,
        )
        try:
            sent = await retrying(send)
        except BadRequest as exc:
            if not html or not _is_markup_error(exc):
                raise
            LOG.warning("Telegram rejected the HTML (%s); sending plain text", describe(exc))
            pieces = split_message(html_to_plain(part), is_html=False)
            for n, piece in enumerate(pieces):
                under = keyboard if last and n == len(pieces) - 1 else None
                sent = await retrying(partial(message.reply_text, piece, reply_markup=under, do_quote=False))
    return sent


@contextlib.asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing …" in the chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await message.chat.send_action(ChatAction.TYPING, message_thread_id=message.message_thread_id)
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
