"""Issue 20 items 7 and 9, in the bot: a data-less button is answered, /reload speaks the chat's language, a
malformed token and bad id or heartbeat settings are one line at once, the health check judges odd heartbeats."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import bot.telegram.sending as sending
from bot.cli.main import cli
from bot.cli.serve import bot_command
from bot.telegram.app import App
from bot.telegram.health import check
from bot.telegram.liveness import Heartbeat
from retrieval.settings import PROJECT_ROOT, Settings
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import ALICE, TOKEN, FakeService, running, server_in_a_thread, settle


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "RETRY_DELAY", 0.01)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as fake:
        yield fake


def bot_settings(tmp_path: Path, server: FakeTelegramServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_allowed_ids=[ALICE],
    )


# -- item 7: a button without data under an inline message ------------------------------------------------------


async def test_a_data_less_button_under_an_inline_message_is_answered(
    tmp_path: Path, server: FakeTelegramServer
) -> None:
    async with running(bot_settings(tmp_path, server), FakeService()) as app:
        user = {"id": ALICE, "is_bot": False, "first_name": "Alice", "language_code": "en"}
        server.push(
            {"callback_query": {"id": "q1", "from": user, "chat_instance": "c", "inline_message_id": "im1"}}
        )
        server.push(  # a game button: data-less too, with a message
            {
                "callback_query": {
                    "id": "q2",
                    "from": user,
                    "chat_instance": "c",
                    "game_short_name": "g",
                    "message": {"message_id": 5, "date": 0, "chat": server.chat(ALICE), "text": "x"},
                }
            }
        )
        await settle(app, server)
    answered = {
        c.params["callback_query_id"]: c.params.get("text") for c in server.requests("answerCallbackQuery")
    }
    assert answered == {"q1": "That button does not work here.", "q2": "That button does not work here."}


# -- item 9: /reload in the chat's language ---------------------------------------------------------------------


class Reloading(FakeService):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line

    def reload(self) -> str:
        return self.line


@pytest.mark.parametrize(
    ("service", "language", "expected"),
    [
        (FakeService(), "da", "Artiklerne ligger fast i denne bot; der er intet at læse igen."),
        (FakeService(), "en", "The articles are fixed in this bot; there is nothing to re-read."),
        (
            Reloading("the index is up to date with the articles"),
            "da",
            "Indekset er allerede opdateret med artiklerne (2 artikler).",
        ),
        (
            Reloading("articles changed; index: 1 added, 0 updated, 0 deleted, 0 skipped"),
            "da",
            "Artiklerne er læst igen: 1 tilføjet, 0 ændret, 0 fjernet; indekset har nu 2 artikler.",
        ),
        (
            Reloading("articles changed; index: 1 added, 0 updated, 0 deleted, 0 skipped"),
            "en",
            "Re-read the articles: 1 added, 0 updated, 0 deleted; the index now holds 2 articles.",
        ),
        (
            Reloading("/x/a.md is gone; answering from the index as it is"),
            "da",
            "Artiklerne kunne ikke læses igen: /x/a.md is gone; answering from the index as it is",
        ),
    ],
)
async def test_reload_answers_in_the_chats_language(
    tmp_path: Path, server: FakeTelegramServer, service: FakeService, language: str, expected: str
) -> None:
    async with running(bot_settings(tmp_path, server), service):
        server.message(ALICE, "/reload", language_code=language)
        [reply] = await server.wait_sent(ALICE)
    assert reply.text == expected


# -- item 9: a malformed token is found at once -----------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "123456:AAE-secret#fragment",
        "123456:AAE-secrét_token",
        "AAE-secret_Token-xyz",  # the bot id is missing
        '"123456:AAE-secret_Token"',
        "123456:AAE secret",
        "123456:AAE-secret\x00",
    ],
)
def test_a_malformed_token_is_one_line_at_once_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    import bot.telegram.app
    import retrieval.live

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Bot API must not be tried with a malformed token")

    monkeypatch.setattr(bot.telegram.app, "wait_for_bot_api", no_network)
    monkeypatch.setattr(retrieval.live, "build_live_service", no_network)
    with server_in_a_thread(TOKEN) as fake:
        settings = Settings(
            data_dir=tmp_path,
            telegram_token=token,  # type: ignore[arg-type]
            telegram_api_url=fake.api_url,
            telegram_open=True,
        )
        result = CliRunner().invoke(bot_command, obj=settings)
        assert fake.calls == [] and fake.get_updates_count == 0
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "kilde: error: KILDE_TELEGRAM_TOKEN does not look like a bot token"
    )
    assert "secret" not in result.output and "AAE" not in result.output


# -- settings: one line naming the variable, exit 2 -------------------------------------------------------------


def test_admin_ids_are_read_like_the_allowed_ids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KILDE_TELEGRAM_ADMIN_IDS", "12; 34,")
    assert Settings().telegram.admin_ids == [12, 34]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("KILDE_TELEGRAM_ALLOWED_IDS", "alice", "KILDE_TELEGRAM_ALLOWED_IDS takes numeric Telegram ids"),
        ("KILDE_TELEGRAM_ADMIN_IDS", "12,bob", "KILDE_TELEGRAM_ADMIN_IDS takes numeric Telegram ids"),
        ("KILDE_HEARTBEAT_MAX_AGE", "abc", "KILDE_HEARTBEAT_MAX_AGE: Input should be a valid number"),
        ("KILDE_HEARTBEAT_MAX_AGE", "-5", "KILDE_HEARTBEAT_MAX_AGE: Input should be greater than 0"),
        ("KILDE_HEARTBEAT_MAX_AGE", "nan", "KILDE_HEARTBEAT_MAX_AGE: Input should be a finite number"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "bot"])
    assert result.exit_code == 2
    [error] = [line for line in result.output.splitlines() if "bad setting" in line]
    assert says in error and "validation error" not in result.output and "input_value" not in result.output


# -- item 7: the health check -----------------------------------------------------------------------------------


def test_a_heartbeat_from_the_future_is_unhealthy(tmp_path: Path) -> None:
    beat = tmp_path / "hb"
    beat.write_text(f"{os.getpid()}\n")
    future = time.time() + 3600
    os.utime(beat, (future, future))
    healthy, line = check(str(beat), None)
    assert not healthy and line.startswith("unhealthy:") and "future" in line
    os.utime(beat, None)
    assert check(str(beat), None)[0]


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf", "1e999", "12s"])
def test_a_bad_max_age_is_one_unhealthy_line_not_a_traceback(tmp_path: Path, value: str) -> None:
    beat = tmp_path / "hb"
    beat.write_text(f"{os.getpid()}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")}
    env |= {"KILDE_HEARTBEAT_FILE": str(beat), "KILDE_HEARTBEAT_MAX_AGE": value}
    result = subprocess.run(
        [sys.executable, "-m", "bot.telegram.health"],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1 and result.stderr == ""
    assert result.stdout.splitlines() == [
        f"unhealthy: KILDE_HEARTBEAT_MAX_AGE must be a positive number of seconds, not {value!r}"
    ]


def test_a_good_max_age_is_used(tmp_path: Path) -> None:
    beat = tmp_path / "hb"
    beat.write_text(f"{os.getpid()}\n")
    old = time.time() - 50
    os.utime(beat, (old, old))
    assert check(str(beat), "60")[0] and not check(str(beat), "30")[0]


def test_a_heartbeat_whose_bot_died_is_unhealthy(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    beat = tmp_path / "hb"
    beat.write_text(dead.stdout)
    healthy, line = check(str(beat), None)
    assert not healthy and "no longer running" in line


def test_a_stopped_heartbeat_is_gone_and_stays_gone(tmp_path: Path) -> None:
    beat = tmp_path / "hb"
    heartbeat = Heartbeat(beat, every=0)
    heartbeat.beat()
    assert beat.read_text().strip() == str(os.getpid()) and check(str(beat), None)[0]
    heartbeat.stop()
    heartbeat.beat()  # a late poll after the stop
    assert not beat.exists()
    healthy, line = check(str(beat), None)
    assert not healthy and "no heartbeat" in line


async def test_the_bot_removes_its_heartbeat_when_it_shuts_down(
    tmp_path: Path, server: FakeTelegramServer
) -> None:
    beat = tmp_path / "hb"
    settings = bot_settings(tmp_path, server).replace(heartbeat_file=beat)
    app: App
    async with running(settings, FakeService()) as app:
        await server.wait_for(beat.exists, what="the first heartbeat")
        assert app.post_shutdown is not None
        post_shutdown = app.post_shutdown
    await post_shutdown(app)  # what run_polling calls after a clean stop
    assert not beat.exists()
