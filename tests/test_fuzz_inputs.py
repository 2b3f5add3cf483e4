"""Issue 20: a seeded fuzz test over settings values and prompt files. Whatever a user puts in a KILDE_* variable or a
prompt (or floors) file, the answer is a result or one line and exit 2, never a traceback. A fixed seed and a
small number of examples keep it repeatable and quick (random rather than hypothesis: no new dependency)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from retrieval.errors import KildeError
from retrieval.evaluation.limits import load_floors
from retrieval.evaluation.runner import load_cases

SEED = 20
PIECES = [
    "http://", "https://", "ftp://", "[", "]", "::1", "@", ":", "/", "?", "#", "%", "%zz", "user:pw@", "localhost",
    "127.0.0.1", "8080", "99999", "-1", "abc", " ", "\t", "\n", "\x00", "\x1b]0;x\x07", "\u202e", "é", "🙂", "0", "1e9",
    "nan", "true", "no", ",", ";", "'", '"', "${HOME}", "../", "~", "{", "}", "1,2", "alice", "", "x" * 300,
]
SETTINGS = [
    "KILDE_LLM_BASE_URL", "KILDE_CHROMA_URL", "KILDE_TELEGRAM_API_URL", "KILDE_TELEGRAM_WEBHOOK_URL",
    "KILDE_LLM_TIMEOUT", "KILDE_LLM_TEMPERATURE", "KILDE_LLM_MAX_TOKENS", "KILDE_LLM_FALLBACK", "KILDE_LLM_API_KEY",
    "KILDE_TOP_K", "KILDE_CHUNK_TOKENS", "KILDE_ANSWERER", "KILDE_HISTORY_TURNS", "KILDE_MAX_QUESTION_CHARS",
    "KILDE_TELEGRAM_WEBHOOK_PORT", "KILDE_TELEGRAM_OPEN", "KILDE_COLLECTION", "KILDE_EMBED_THREADS",
]  # fmt: skip


def fuzzed_value(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))


def test_fuzzed_settings_are_a_result_or_one_line(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    runner = CliRunner()
    for _ in range(120):
        env = {name: fuzzed_value(rng) for name in rng.sample(SETTINGS, rng.randint(1, 3))}
        env = {k: v.replace("\x00", "") for k, v in env.items()}  # an environment cannot hold NUL
        # An empty question is refused before anything is loaded: what is left to fail is reading the settings.
        result = runner.invoke(cli, ["--data-dir", str(tmp_path), "ask", " "], env=env)
        assert result.exit_code == 2, (env, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (env, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kilde: error: "), (env, result.stderr)
        assert "Traceback" not in result.output and "\x1b" not in result.output


GOOD_PROMPTS = """\
cases:
  - id: q1
    question: "Hvem er næstformand i HK Kommunal?"
    expected_sources: [doc-a]
    must_include: [["Pia Lund Jeppesen"], ["HK"]]
    tags: [name]
  - id: q2
    question: "Hvad er hovedstaden i Australien?"
    history: ["Hvad er velfærdskommuner?"]
    answerable: false
"""
YAML_PIECES = [
    "[", "]", "{", "}", ":", "- ", "&a ", "*a", "!!python/object:os.system ", "!!int ", "!!binary ", "? ", "|", ">",
    "'", '"', "#", "\n", "  ", "\t", "\x1b[31m", "\u202e", "\x00", "[" * 200, "id", "question", "cases", "~", "null",
    "1e400", "-", "<<: *a", "%YAML 1.1\n", "---\n", "...\n", "\ufeff",
]  # fmt: skip


def fuzzed_file(rng: random.Random, good: str) -> str:
    text = list(good)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.3 and text:
            del text[at : at + rng.randint(1, 20)]
        else:
            text.insert(at, rng.choice(YAML_PIECES))
    return "".join(text)


def test_fuzzed_prompt_and_floors_files_are_cases_or_one_line(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    path = tmp_path / "fuzz.yaml"
    for _ in range(150):
        path.write_text(fuzzed_file(rng, GOOD_PROMPTS), encoding="utf-8", errors="surrogatepass")
        try:
            cases = load_cases([path])
        except KildeError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
        else:
            assert cases and all(c.id and c.question for c in cases)
        floors = fuzzed_file(rng, "all:\n  min_overall: 0.5\n  max_p95_ms: 900\n")
        path.write_text(floors, encoding="utf-8", errors="surrogatepass")
        try:
            load_floors(path)
        except KildeError as exc:
            assert "\n" not in str(exc)


@pytest.mark.parametrize("seed", range(3))
def test_fuzzed_prompt_files_through_kilde_eval_are_one_line(tmp_path: Path, seed: int) -> None:
    rng = random.Random(SEED * 100 + seed)
    for n in range(10):
        path = tmp_path / f"p{n}.yaml"
        path.write_text(fuzzed_file(rng, GOOD_PROMPTS), encoding="utf-8", errors="surrogatepass")
        try:
            load_cases([path])
        except KildeError:
            result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "eval", str(path)])
            assert result.exit_code == 2, result.output
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
            assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
