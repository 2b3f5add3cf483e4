"""What the Telegram bot keeps per chat: recent turns and cited sources (SQLite), and one lock per chat.

Both are used only from the bot's event loop; the store also takes a lock so a worker thread could use it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import sqlite3
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from retrieval.conversation import trim, turn_of
from retrieval.errors import KildeError
from retrieval.types import Answer, Citation, Language, Turn

HISTORY_FILE = "telegram.sqlite3"
KEEP_ANSWERS = 20  # per chat, for the sources buttons under recent answers

# -- history and sources ----------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS turns_chat ON turns (chat_id, id);
CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL,
    language TEXT NOT NULL, citations TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS answers_chat ON answers (chat_id, id);
"""
_CITATION_FIELDS = {f.name for f in dataclasses.fields(Citation)}


@dataclass(frozen=True)
class StoredAnswer:
    id: int
    language: Language
    citations: list[Citation]


class ChatStore:
    """Each chat's last turns and the citations of its recent answers, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False)
            # WAL with synchronous=NORMAL: a commit costs microseconds instead of an fsync (~15 ms here) that
            # would stall every chat's event loop; a power cut may lose the last turns, never corrupt the file.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise KildeError(f"cannot open the chat history {path}: {exc}") from None
        self._lock = threading.Lock()

    def history(self, chat_id: int, turns: int) -> list[Turn]:
        with self._lock:
            rows = self._db.execute(
                "SELECT question, answer FROM turns WHERE chat_id = ? ORDER BY id", (chat_id,)
            ).fetchall()
        return trim([Turn(q, a) for q, a in rows], turns)

    def remember(self, chat_id: int, answer: Answer, turns: int) -> int:
        """Store a turn (keeping the last `turns`) and the answer's citations; returns the answer's id."""
        turn = turn_of(answer)
        citations = json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO turns (chat_id, question, answer) VALUES (?, ?, ?)",
                (chat_id, turn.question, turn.answer),
            )
            self._prune("turns", chat_id, turns)  # the rows `history` would trim away anyway
            cursor = self._db.execute(
                "INSERT INTO answers (chat_id, language, citations) VALUES (?, ?, ?)",
                (chat_id, answer.language, citations),
            )
            self._prune("answers", chat_id, KEEP_ANSWERS)
        return int(cursor.lastrowid or 0)

    def _prune(self, table: str, chat_id: int, keep: int) -> None:
        self._db.execute(
            f"DELETE FROM {table} WHERE chat_id = ? AND id NOT IN "  # noqa: S608 (table is one of two names)
            f"(SELECT id FROM {table} WHERE chat_id = ? ORDER BY id DESC LIMIT ?)",
            (chat_id, chat_id, keep),
        )

    def answer(self, chat_id: int, answer_id: int | None = None) -> StoredAnswer | None:
        """One stored answer of this chat, or its latest when `answer_id` is None."""
        query = "SELECT id, language, citations FROM answers WHERE chat_id = ?"
        args: tuple[int, ...] = (chat_id,)
        if answer_id is not None:
            query, args = query + " AND id = ?", (chat_id, answer_id)
        with self._lock:
            row = self._db.execute(query + " ORDER BY id DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        cited = [
            Citation(**{k: v for k, v in c.items() if k in _CITATION_FIELDS}) for c in json.loads(row[2])
        ]
        return StoredAnswer(int(row[0]), "en" if row[1] == "en" else "da", cited)

    def forget(self, chat_id: int) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM turns WHERE chat_id = ?", (chat_id,))
            self._db.execute("DELETE FROM answers WHERE chat_id = ?", (chat_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- ordering: one chat at a time, many chats at once ----------------------------------------------------------


class PerChatProcessor(BaseUpdateProcessor):
    """Runs updates concurrently, except that updates of the same chat wait for each other, in arrival order.

    Updates reach `do_process_update` in the order they were fetched and `asyncio.Lock` wakes its waiters
    first come, first served, so one chat's messages are answered in order.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._locks.get(chat.id, (asyncio.Lock(), 0))
        self._locks[chat.id] = (lock, users + 1)
        started = False
        try:
            async with lock:
                started = True
                await coroutine
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting for the chat: never awaited
            lock, users = self._locks[chat.id]
            if users <= 1:
                del self._locks[chat.id]
            else:
                self._locks[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
