"""Issue 11 item 8: a question that is not UTF-8, credentials in the model's url, an unreachable Bot API and
a button under an inline message: each is one clear line (or nothing), never a traceback or a leak."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from telegram import Update
from telegram.error import NetworkError

import bot.telegram.liveness as liveness
from bot.cli.main import cli
from bot.cli.serve import bot_command
from bot.telegram.app import build_application
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.settings import PROJECT_ROOT, Settings
from tests.conftest import CORPUS
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_llm_server import KEY
from tests.test_telegram import ALICE, TOKEN, FakeService


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled articles indexed once with fake embeddings."""
    root = tmp_path_factory.mktemp("faults")
    shutil.copytree(CORPUS, root / "corpus")
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus", embedder="fake", top_k=3)
    assert not ingest(settings, [settings.corpus_dir], FakeEmbeddings()).problems
    return settings


def env_for(indexed: Settings, **extra: str) -> dict[str, str]:
    return {
        "KILDE_DATA_DIR": str(indexed.data_dir),
        "KILDE_CORPUS_DIR": str(indexed.corpus_dir),
        "KILDE_EMBEDDER": "fake",
        "KILDE_TOP_K": "3",
        **extra,
    }


# -- a question that is not UTF-8 --------------------------------------------------------------------------------


def test_a_non_utf8_question_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    argv_bytes = os.fsdecode(b"Hvem er \xff\xfe?")  # how Python hands over an argument that is not UTF-8
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "ask", argv_bytes])
    assert result.exit_code == 2
    assert result.stderr.strip() == "kilde: error: the question is not valid UTF-8 text"


@pytest.mark.parametrize("lang", ["C.UTF-8", "C"])
def test_a_non_utf8_line_does_not_end_a_piped_chat(indexed: Settings, lang: str) -> None:
    script = b"Hvem er Troels Lund Poulsen?\n\xff\xfe bad \xc3\n/help\n"
    env = {**os.environ, **env_for(indexed), "LC_ALL": lang, "LANG": lang, "PYTHONIOENCODING": ""}
    env.pop("PYTHONIOENCODING")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=script,
        capture_output=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert "Traceback" not in out + err
    assert "not valid UTF-8" in out
    assert "/sources" in out  # the chat went on to answer /help
    assert done.returncode == 1  # one question failed


# -- credentials in KILDE_LLM_BASE_URL ---------------------------------------------------------------------------


async def test_credentials_in_the_model_url_are_never_logged(
    indexed: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpx2"):  # another test's bot may have turned request logging down
        caplog.set_level(logging.DEBUG, logger=name)
    async with FakeOpenAIServer() as server:
        url = server.base_url.replace("http://", "http://kilde-user:pw-s3cret-99@")
        env = env_for(indexed, KILDE_LLM_BASE_URL=url)  # with an API key too it is refused (issue 20)
        result = await asyncio.to_thread(
            CliRunner(env=env).invoke, cli, ["-v", "ask", "--json", "Hvor gammel er Kim Them Serup?"]
        )
    assert result.exit_code == 0, result.output
    assert '"answerer": "llm"' in result.stdout
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records) + result.stderr
    assert "HTTP Request: POST" in caplog.text  # the request was logged (at -v) ...
    assert "pw-s3cret-99" not in logged and "kilde-user" not in logged and KEY not in logged  # ... masked


# -- an unreachable Bot API --------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_bot_api_is_retried_with_backoff_then_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import retrieval.service

    monkeypatch.setattr(retrieval.service, "build_service", lambda settings: FakeService())
    monkeypatch.setattr("bot.cli.indexing.ensure_index", lambda settings: None, raising=False)
    monkeypatch.setattr(liveness, "START_DELAYS", (0.01, 0.02, 0.04), raising=False)
    caplog.set_level(logging.INFO)
    settings = Settings(
        data_dir=tmp_path,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=f"http://127.0.0.1:{closed_port()}/bot",
        telegram_open=True,
    )
    result = CliRunner().invoke(bot_command, obj=settings)
    assert result.exit_code == 1
    assert result.output.strip().startswith("kilde: error: cannot reach the Telegram Bot API at 127.0.0.1:")
    attempts = [r for r in caplog.records if "cannot reach the Telegram Bot API" in r.getMessage()]
    assert [r.getMessage().split("; ")[-1] for r in attempts] == [
        "attempt 1 of 4, next in 0.01 s",
        "attempt 2 of 4, next in 0.02 s",
        "attempt 3 of 4, next in 0.04 s",
    ]
    assert all(r.levelno == logging.WARNING for r in attempts)
    assert not any(r.exc_info or r.exc_text for r in caplog.records)
    assert "Traceback" not in caplog.text + result.output and TOKEN not in caplog.text + result.output


async def test_the_bot_starts_once_the_api_answers(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def probe() -> Any:
        calls.append(1)
        if len(calls) < 3:
            raise NetworkError("httpx.ConnectError: All connection attempts failed")
        return "ok"

    with caplog.at_level(logging.WARNING):
        await liveness.wait_for_bot_api(probe, "api.example", delays=(0.01, 0.01, 0.01, 0.01))
    assert len(calls) == 3 and len(caplog.records) == 2


# -- a button under an inline message ----------------------------------------------------------------------------


async def test_a_callback_on_an_inline_message_is_answered_without_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = await FakeTelegramServer(token=TOKEN).start()
    settings = Settings(
        data_dir=tmp_path,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_allowed_ids=[ALICE],
    )
    app = build_application(settings, FakeService())
    raw = {
        "update_id": 99,
        "callback_query": {
            "id": "cq-inline",
            "from": {"id": ALICE, "is_bot": False, "first_name": "Alice", "language_code": "da"},
            "chat_instance": "ci",
            "inline_message_id": "AAAA-inline",
            "data": "src:1",
        },
    }
    caplog.set_level(logging.INFO)
    try:
        async with app:
            await app.process_update(Update.de_json(raw, app.bot))
    finally:
        await server.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [answered] = server.requests("answerCallbackQuery")
    assert answered.params["callback_query_id"] == "cq-inline"
