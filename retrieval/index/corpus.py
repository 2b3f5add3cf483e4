"""Which articles the index holds: the paths it was last built from, or the corpus setting for a new index."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from retrieval.index.store import read_state
from retrieval.settings import Settings


@dataclass(frozen=True)
class Corpus:
    paths: list[Path]
    note: str | None = None  # one line for the user when the corpus setting and the index disagree
    missing: list[Path] = field(default_factory=list)  # recorded paths that are gone: nothing may be synced


def recorded_paths(settings: Settings) -> list[Path]:
    paths = read_state(settings.data_dir).get("paths")
    return [Path(p) for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


def indexed_corpus(settings: Settings) -> Corpus:
    """The articles to answer from: those the index holds, unless KILDE_CORPUS_DIR is set to others.

    A question never switches the index by itself (so it never deletes anything): only `kilde ingest PATH` or a
    corpus directory set on purpose (KILDE_CORPUS_DIR, `.env`) does, and either way one line says so.
    """
    recorded = recorded_paths(settings)
    if not recorded or recorded == [settings.corpus_dir.resolve()]:
        return Corpus(recorded or [settings.corpus_dir], missing=[p for p in recorded if not p.exists()])
    shown = ", ".join(str(p) for p in recorded[:3]) + (
        f" and {len(recorded) - 3} more" if len(recorded) > 3 else ""
    )
    if "corpus_dir" in settings.model_fields_set:  # set on purpose: it wins, and the index follows it
        return Corpus(
            [settings.corpus_dir],
            f"the index holds the articles in {shown}; KILDE_CORPUS_DIR is {settings.corpus_dir}, "
            "so the index is switched to the articles there",
        )
    note = (
        f"the index holds the articles in {shown}, not those in the default corpus {settings.corpus_dir}; "
        f"answering from the index (`kilde ingest {settings.corpus_dir}` switches it)"
    )
    return Corpus(recorded, note, [p for p in recorded if not p.exists()])
