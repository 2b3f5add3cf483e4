"""Issue 11, item 5: the index remembers which articles it holds; a question never switches it (nor deletes any)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli.main import cli
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.service import open_index
from retrieval.settings import Settings

MINE = "---\ntitle: Min artikel\n---\nBrandstationen i Humlebæk får en ny stige på 42 meter."


def kilde(data: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data), *args], env=env, input=stdin)


def docs_in_index(data: Path) -> set[str]:
    index = open_index(Settings(data_dir=data, embedder="fake"), FakeEmbeddings())
    return set(index.ids_by_doc(index.chunks))


def test_ask_after_ingest_path_keeps_the_users_articles(tmp_path: Path, corpus_copy: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "stige.md").write_text(MINE)
    data, env = tmp_path / "data", {"KILDE_EMBEDDER": "fake"}  # the corpus setting is the default, corpus/
    assert kilde(data, env, "ingest", str(mine)).exit_code == 0

    asked = kilde(data, env, "ask", "--json", "Hvor lang er stigen i Humlebæk?")
    assert asked.exit_code == 0, asked.output
    assert "deleted" not in asked.stderr and "updating" not in asked.stderr
    assert f"the index holds the articles in {mine}, not those in the default corpus" in asked.stderr
    assert len(asked.stderr.strip().splitlines()) == 1
    assert {c["doc_id"] for c in json.loads(asked.stdout)["citations"]} <= {"stige"}
    assert docs_in_index(data) == {"stige"}

    chatted = kilde(data, env, "chat", stdin="Hvor lang er stigen?\n")
    assert chatted.exit_code == 0 and "deleted" not in chatted.stderr
    assert docs_in_index(data) == {"stige"}

    again = kilde(data, env, "ingest")  # no paths: what the index holds, not the default corpus
    assert again.exit_code == 0 and "0 deleted" in again.stderr
    assert docs_in_index(data) == {"stige"}

    switched = kilde(data, env, "ingest", str(corpus_copy))  # an explicit path switches it
    assert "5 added" in switched.stderr and "1 deleted" in switched.stderr
    assert "stige" not in docs_in_index(data)


def test_a_corpus_dir_set_on_purpose_switches_the_index_and_says_so(
    tmp_path: Path, corpus_copy: Path
) -> None:
    """`docker run -e KILDE_CORPUS_DIR=/corpus` over an image indexed from its bundled corpus, for one."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "stige.md").write_text(MINE)
    data = tmp_path / "data"
    assert kilde(data, {"KILDE_EMBEDDER": "fake"}, "ingest", str(corpus_copy)).exit_code == 0
    env = {"KILDE_EMBEDDER": "fake", "KILDE_CORPUS_DIR": str(mine)}
    asked = kilde(data, env, "ask", "Hvor lang er stigen i Humlebæk?")
    assert asked.exit_code == 0, asked.output
    assert f"KILDE_CORPUS_DIR is {mine}, so the index is switched" in asked.stderr
    assert "5 deleted" in asked.stderr
    assert docs_in_index(data) == {"stige"}
    assert (
        kilde(data, env, "ask", "Hvor lang er stigen i Humlebæk?").stderr == ""
    )  # agreed now: nothing to say


def test_a_recorded_corpus_that_is_gone_is_not_synced_away(tmp_path: Path, corpus_copy: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "stige.md").write_text(MINE)
    data, env = tmp_path / "data", {"KILDE_EMBEDDER": "fake"}
    assert kilde(data, env, "ingest", str(mine)).exit_code == 0
    (mine / "stige.md").unlink()
    mine.rmdir()  # e.g. an unmounted disk
    asked = kilde(data, env, "ask", "Hvor lang er stigen i Humlebæk?")
    assert asked.exit_code == 0
    assert "is gone; answering from the index as it is" in asked.stderr
    assert docs_in_index(data) == {"stige"}


def test_a_bad_article_does_not_stop_ask(tmp_path: Path, corpus_copy: Path) -> None:
    """Issue 11, item 1 end to end: `date: 2020-13-45` used to stop ingest/ask/chat/bot with a traceback."""
    (corpus_copy / "bad.md").write_text("---\ntitle: x\ndate: 2020-13-45\n---\nTekst.\n")
    data, env = tmp_path / "data", {"KILDE_EMBEDDER": "fake", "KILDE_CORPUS_DIR": str(corpus_copy)}
    asked = kilde(data, env, "ask", "Hvem er næstformand i HK Kommunal?")
    assert asked.exit_code == 0, asked.output
    assert (
        "skipped" in asked.stderr
        and "bad.md: front matter line 3: '2020-13-45' is not a valid date" in asked.stderr
    )
    assert "Traceback" not in asked.output
