"""Issue 20 items 3 and 7: settings that hold urls are checked when they are read, as one line naming the setting and
what is wrong, exit 2; credentials in the model url together with an API key are refused (only one can be sent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError

from bot.cli.main import cli
from retrieval.settings import Settings

BAD = [
    ("KILDE_LLM_BASE_URL", "http://localhost:abc/v1", "the port is not a number"),
    ("KILDE_LLM_BASE_URL", "http://[::1/v1", "unclosed '['"),
    ("KILDE_LLM_BASE_URL", "ftp://models.example/v1", "the scheme must be http or https, not 'ftp'"),
    ("KILDE_LLM_BASE_URL", "localhost:11434/v1", "the scheme must be http or https"),
    ("KILDE_LLM_BASE_URL", "http://host:99999/v1", "the port is out of range"),
    ("KILDE_CHROMA_URL", "http://[::1:8000", "unclosed '['"),
    ("KILDE_CHROMA_URL", "http://chroma:8k", "the port is not a number"),
    ("KILDE_CHROMA_URL", "http:///nohost", "it names no host"),
    ("KILDE_TELEGRAM_API_URL", "https://[fe80::1/bot", "unclosed '['"),
    ("KILDE_TELEGRAM_API_URL", "https://bot-api.example.org:44x/bot", "the port is not a number"),
    ("KILDE_TELEGRAM_WEBHOOK_URL", "https://bot example.org/hook", "spaces or control characters"),
]


@pytest.mark.parametrize(("name", "value", "problem"), BAD)
def test_a_bad_url_setting_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, name: str, value: str, problem: str
) -> None:
    result = CliRunner(env={name: value, "KILDE_EMBEDDER": "fake"}).invoke(
        cli, ["--data-dir", str(tmp_path), "ask", "Hvem er Kim Them Serup?"]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kilde: error: bad setting: {name}: "), lines
    assert problem in lines[0]
    assert "Traceback" not in result.output and "validation error" not in result.output


def test_a_bad_url_never_shows_the_password_in_it(tmp_path: Path) -> None:
    result = CliRunner(env={"KILDE_LLM_BASE_URL": "http://bob:hunter2@host:abc/v1"}).invoke(
        cli, ["--data-dir", str(tmp_path), "ask", "Hej?"]
    )
    assert result.exit_code == 2 and "hunter2" not in result.output and "bob" not in result.output


def test_every_command_checks_the_urls_even_eval(tmp_path: Path) -> None:
    prompts = tmp_path / "p.yaml"
    prompts.write_text("cases:\n  - id: a\n    question: Hej?\n    answerable: false\n", encoding="utf-8")
    result = CliRunner(env={"KILDE_CHROMA_URL": "http://[::1:8000"}).invoke(cli, ["eval", str(prompts)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "KILDE_CHROMA_URL" in result.stderr


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/v1", "https://api.example.org/v1", "http://[::1]:11434/v1", "http://u:p@h/v1"]
)
def test_good_urls_pass(url: str) -> None:
    from retrieval.settings import url_problem

    assert url_problem(url) is None
    assert Settings(llm_base_url=url).llm.base_url == url


def test_credentials_in_the_model_url_with_an_api_key_are_refused_in_one_line(tmp_path: Path) -> None:
    from retrieval.settings import describe_error

    with pytest.raises(ValidationError) as caught:
        Settings(llm_base_url="http://user:pw@localhost:11434/v1", llm_api_key=SecretStr("sk-live-1"))
    line = describe_error(caught.value)
    assert "KILDE_LLM_BASE_URL" in line and "KILDE_LLM_API_KEY" in line and "\n" not in line
    assert "pw" not in line.replace("password", "") and "sk-live-1" not in line
    env = {"KILDE_LLM_BASE_URL": "http://user:pw@localhost:11434/v1", "KILDE_LLM_API_KEY": "sk-live-1"}
    result = CliRunner(env=env).invoke(cli, ["--data-dir", str(tmp_path), "ask", "Hej?"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_credentials_in_the_model_url_alone_are_kept() -> None:
    settings = Settings(llm_base_url="http://user:pw@localhost:11434/v1")
    assert settings.llm.base_url == "http://user:pw@localhost:11434/v1"


def test_a_bad_number_setting_is_one_line_too(tmp_path: Path) -> None:
    result = CliRunner(env={"KILDE_LLM_TIMEOUT": "soon"}).invoke(cli, ["--data-dir", str(tmp_path), "ask", "Hej?"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "kilde: error: bad setting: KILDE_LLM_TIMEOUT: Input should be a valid number, unable to parse string as a number"
    ]
