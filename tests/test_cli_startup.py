"""What a command loads before it does its work: `kilde --help` and a question load only what they need (the
times are in benchmarks/bench_cold.py; here, which modules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from bot.cli.main import LAZY_COMMANDS, LAZY_HELP, cli
from retrieval.settings import PROJECT_ROOT


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_loads_neither_settings_nor_rich_nor_the_lazy_commands() -> None:
    modules = loaded_after(
        "import sys\nfrom bot.cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='kilde')\nexcept SystemExit:\n    pass"
    )
    for heavy in ("retrieval.settings", "pydantic", "rich", "bot.cli.evaluate", "bot.cli.serve", "telegram", "numpy"):
        assert heavy not in modules, heavy


def test_the_answer_service_loads_no_tracing_chroma_or_runnables() -> None:
    modules = loaded_after("import retrieval.service")
    for heavy in ("langsmith", "langchain_core.runnables.base", "langchain_core.tracers", "chromadb", "rich"):
        assert heavy not in modules, heavy
    assert "pydantic_settings" not in modules  # it loads asyncio, argparse and cloud secret sources on import
    assert "tqdm" not in modules and "asyncio" not in modules  # bm25s's progress bars, never shown
    assert "tiktoken" not in modules  # chunking is for indexing


def collector_on_at_exit(tmp_path: Path, *args: str) -> bool:
    """Whether the garbage collector is on when `kilde ARGS` (through its entry point, `main`) exits."""
    code = (
        "import atexit, gc, sys\natexit.register(lambda: print(gc.isenabled()))\n"
        f"sys.argv = ['kilde', '--data-dir', {str(tmp_path)!r}, *{list(args)!r}]\n"
        "from bot.cli.main import main\nmain()"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    return {"True": True, "False": False}[done.stdout.strip().splitlines()[-1]]


def test_only_ask_keeps_the_garbage_collector_off(tmp_path: Path) -> None:
    assert not collector_on_at_exit(tmp_path, "ask", " ")  # one question (here refused as empty), then exit
    assert collector_on_at_exit(tmp_path, "ingest", "--help")  # every other command runs with it on
    assert collector_on_at_exit(tmp_path, "chat", "--help")


def test_the_listing_gives_each_lazy_command_its_own_short_help() -> None:
    ctx = click.Context(cli)
    for name in LAZY_COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        for limit in (45, 68, 300):
            assert command.get_short_help_str(limit) == click.Command(name, help=LAZY_HELP[name]).get_short_help_str(limit)
