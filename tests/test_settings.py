"""Settings: core fields flat, each outside service (model, Chroma server, Telegram) a sub-model of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from retrieval.settings import LLMSettings, Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file of the developer's
    for name in ("KILDE_LLM_BASE_URL", "KILDE_LLM_MODEL", "KILDE_TELEGRAM_ALLOWED_IDS", "KILDE_CHROMA_URL"):
        monkeypatch.delenv(name, raising=False)


def test_each_service_reads_its_own_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILDE_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("KILDE_TELEGRAM_ALLOWED_IDS", "12; 34")
    monkeypatch.setenv("KILDE_CHROMA_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("KILDE_TOP_K", "4")

    settings = Settings()

    assert settings.llm.base_url == "http://127.0.0.1:11434/v1"
    assert settings.telegram.allowed_ids == [12, 34]
    assert settings.chroma.url == "http://127.0.0.1:8000"
    assert settings.top_k == 4


def test_flat_names_reach_their_sub_model_and_keep_the_rest_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KILDE_LLM_MODEL", "qwen")

    settings = Settings(llm_base_url="http://x", llm_api_key=SecretStr("k"))

    assert settings.llm.base_url == "http://x"
    assert settings.llm.api_key.get_secret_value() == "k"
    assert settings.llm.model == "qwen"


def test_a_sub_model_is_validated() -> None:
    with pytest.raises(ValidationError):
        Settings(llm_timeout=-1)
    with pytest.raises(ValidationError):
        LLMSettings(temperature=5)


def test_replace_copies_with_flat_names_and_marks_them_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "a", chroma_url="http://c")

    copy = settings.replace(corpus_dir=tmp_path / "articles", chroma_url=None, telegram_open=True)

    assert copy.chroma.url is None and settings.chroma.url == "http://c"
    assert copy.telegram.open and not settings.telegram.open
    assert copy.data_dir == tmp_path / "a"
    assert "corpus_dir" in copy.model_fields_set  # a corpus set on purpose wins over the indexed one


def test_a_dotenv_file_fills_what_the_environment_does_not_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = "KILDE_TOP_K=3\nKILDE_LLM_MODEL=from-file\nkilde_history_turns=2\n"
    (tmp_path / ".env").write_text(lines, encoding="utf-8")
    monkeypatch.setenv("KILDE_LLM_MODEL", "from-env")

    settings = Settings()

    assert settings.top_k == 3
    assert settings.history_turns == 2  # names in any case, as in the environment
    assert settings.llm.model == "from-env"  # the environment wins over the file
    assert "top_k" in settings.model_fields_set  # a value from outside is set on purpose


def test_names_are_read_in_any_case_and_given_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("kilde_top_k", "5")
    monkeypatch.setenv("KILDE_MAX_QUESTION_CHARS", "300")

    settings = Settings(max_question_chars=400)

    assert settings.top_k == 5
    assert settings.max_question_chars == 400
    monkeypatch.setenv("KILDE_TOP_K", "many")
    with pytest.raises(ValidationError):
        Settings()
