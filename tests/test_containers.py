"""Issue 11 item 9: the containers' health checks work with what each image has, and the bot's reflects that
it is polling Telegram (a heartbeat file it touches after every successful poll), not just that it imports."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import bot.telegram.liveness as liveness
from bot.telegram.health import heartbeat_age
from retrieval.settings import PROJECT_ROOT, Settings
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import ALICE, TOKEN, FakeService, running

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
CHROMA = Path(sys.executable).parent / "chroma"
if not CHROMA.exists():
    CHROMA = Path(shutil.which("chroma") or CHROMA)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_check(port: int) -> list[str]:
    """The compose health check of the Chroma service, as Docker would run it, aimed at `port`."""
    test = COMPOSE["services"]["chroma"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return [part.replace("$$", "$").replace("8000", str(port)) for part in test[1:]]


# -- Chroma ------------------------------------------------------------------------------------------------------


def test_the_chroma_check_needs_only_bash() -> None:
    command = chroma_check(8000)
    # chromadb/chroma (Debian slim plus the `chroma` binary, rust/Dockerfile upstream) has bash, not these:
    assert command[0] == "bash"
    assert not re.search(r"\b(curl|wget|python3?|nc)\b", " ".join(command))


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not CHROMA.exists():
        pytest.skip("the `chroma` server binary is not installed")
    root, port = tmp_path_factory.mktemp("chroma-health"), free_port()
    with (root / "log").open("wb") as log:
        proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(chroma_check(port), capture_output=True, check=False).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, (root / "log").read_text()[-2000:]
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.server
def test_the_chroma_check_passes_against_a_real_server_and_fails_without_one(chroma_port: int) -> None:
    assert subprocess.run(chroma_check(chroma_port), capture_output=True, check=False).returncode == 0
    closed = subprocess.run(chroma_check(free_port()), capture_output=True, check=False, timeout=10)
    assert closed.returncode != 0


def test_the_bot_waits_for_a_healthy_chroma() -> None:
    assert COMPOSE["services"]["bot"]["depends_on"]["chroma"]["condition"] == "service_healthy"


# -- the bot -----------------------------------------------------------------------------------------------------


def test_the_bot_image_checks_its_heartbeat() -> None:
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])$", DOCKERFILE, re.MULTILINE | re.DOTALL)
    assert healthcheck and healthcheck.group(1) == '["python", "-m", "bot.telegram.health"]'
    assert re.search(r"KILDE_HEARTBEAT_FILE=/tmp/\S+", DOCKERFILE)  # in the container, not the /data volume
    assert "healthcheck" not in COMPOSE["services"]["bot"]  # compose keeps the image's check


def health(heartbeat: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")}
    if heartbeat is not None:
        env["KILDE_HEARTBEAT_FILE"] = str(heartbeat)
    return subprocess.run(
        [sys.executable, "-m", "bot.telegram.health"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
    )


def test_the_health_command_reads_the_heartbeat_age(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    assert health(beat).returncode == 1 and "no heartbeat" in health(beat).stdout
    beat.touch()
    assert health(beat).returncode == 0
    old = time.time() - 600
    os.utime(beat, (old, old))
    result = health(beat)
    assert result.returncode == 1 and "600 s ago" in result.stdout
    assert health(None).returncode == 1


async def test_the_heartbeat_beats_while_polling_works_and_stops_when_it_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "HEARTBEAT_EVERY", 0.05)
    beat = tmp_path / "run" / "heartbeat"
    server = await FakeTelegramServer(token=TOKEN).start()
    settings = Settings(
        data_dir=tmp_path / "data",
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_allowed_ids=[ALICE],
        heartbeat_file=beat,
    )
    async with running(settings, FakeService()):
        await server.wait_for(beat.exists, what="the first heartbeat")
        first = beat.stat().st_mtime_ns
        await server.wait_for(lambda: beat.stat().st_mtime_ns > first, what="another heartbeat")
        await server.stop()  # Telegram is gone: polls fail, the heartbeat stops
        await asyncio.sleep(0.5)
        stopped = beat.stat().st_mtime_ns
        await asyncio.sleep(0.8)
        assert beat.stat().st_mtime_ns == stopped
    age = heartbeat_age(beat)
    assert age is not None and age >= 0.8


def test_the_heartbeat_is_throttled(tmp_path: Path) -> None:
    heartbeat = liveness.Heartbeat(tmp_path / "hb", every=60)
    heartbeat.beat()
    os.utime(tmp_path / "hb", (1, 1))
    heartbeat.beat()  # within the minute: not touched again
    assert (tmp_path / "hb").stat().st_mtime == 1
