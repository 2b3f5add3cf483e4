"""What every handler of the bot reaches through its context: the typed `bot_data` of PTB's `ContextTypes`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.telegram.chats import ChatStore
from retrieval.settings import Settings
from retrieval.types import AnswerService


@dataclass
class BotData:
    settings: Settings
    service: AnswerService
    store: ChatStore
    embeddings: Any = (
        None  # the service's embedder, reused when admins add articles (None: built when needed)
    )
    refused: set[int] = field(default_factory=set)  # chats that got their one polite refusal
    heartbeat: asyncio.Task[None] | None = None  # webhook mode only; polling beats on each getUpdates
    changes: asyncio.Lock = field(default_factory=asyncio.Lock)  # one addition or removal at a time
    pending_removals: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (doc id, title)


class KildeContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    """The context handlers get: `context.bot_data` is this bot's `BotData`."""


KildeContextTypes = ContextTypes[KildeContext, dict[Any, Any], dict[Any, Any], BotData]


def context_types(
    settings: Settings, service: AnswerService, store: ChatStore, embeddings: Any = None
) -> KildeContextTypes:
    """PTB makes `bot_data` by calling its type without arguments, so the type given is bound to these parts."""

    class BoundBotData(BotData):
        def __init__(self) -> None:
            super().__init__(settings, service, store, embeddings)

    return ContextTypes(context=KildeContext, bot_data=BoundBotData)
