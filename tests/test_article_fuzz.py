"""Random article files (a seeded generator, so failures replay): never a traceback, never a good article lost."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from retrieval.index.articles import load_articles
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.settings import Settings

KEYS = ["title", "date", "author", "url", "publisher", "tags", "x", "? [a]", "'q'", "&k key", "<<"]
SCALARS = [
    "2020-13-45",
    "2020-02-30",
    "2020-07-06",
    "2020-07-06 25:61:00",
    "1e999",
    "-.inf",
    ".nan",
    "0x1F",
    "0o9",
    "1_000",
    "yes",
    "~",
    "null",
    "''",
    '"\\x00\\u202e"',
    "'unclosed",
    '"\\uD800"',
    "|",
    ">",
    "- x",
    "a: b: c",
    "[1, 2",
    "{a: 1}",
    "*nowhere",
    "&a v",
    "%YAML 1.1",
    "\t",
    "ÆØÅ æøå",
    "\u202e\u009b\x1b[31m",
    "9" * 5000,
]
TAGS = [
    "!!float",
    "!!int",
    "!!timestamp",
    "!!binary",
    "!!bool",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!str",
    "!!null",
    "!!python/object:os.system",
    "!!python/name:os.system",
    "!custom",
    "!!map",
    "!!seq",
    "!<tag:x>",
]
BODY_PIECES = [
    "Kommunen",
    "har",
    "fået",
    "88",
    "mio.",
    "kr.",
    "## Overskrift",
    "\n",
    "\n\n",
    ".",
    "?",
    "!",
    "\u2028",
    "\u00a0",
    "\x0c",
    "\u200b",
    "\x1b]0;title\x07",
    "[7]",
    "https://x.dk",
    "—",
    "🙂",
    "\r",
]


def random_value(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if roll < 0.15 and depth < 3:
        return "[" + ", ".join(random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    if roll < 0.25 and depth < 3:
        return "{" + ", ".join(f"{rng.choice(KEYS)}: {random_value(rng, depth + 1)}" for _ in range(2)) + "}"
    if roll < 0.45:
        return f"{rng.choice(TAGS)} {rng.choice(SCALARS)}"
    if roll < 0.5:
        return "[" * rng.randint(1, 2500) if rng.random() < 0.3 else "[" * rng.randint(1, 70)
    return rng.choice(SCALARS)


def random_article(rng: random.Random) -> bytes:
    lines = [f"{rng.choice(KEYS)}: {random_value(rng)}" for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.2:  # anchors and aliases, sometimes many
        lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, rng.randint(2, 9))]
        lines.insert(0, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]")
    body = " ".join(rng.choice(BODY_PIECES) for _ in range(rng.randint(0, 80)))
    head = "---\n" + "\n".join(lines) + rng.choice(["\n---\n"] * 6 + ["\n---", "\n", "\n--- \r\n", "\n...\n"])
    text = (head if rng.random() < 0.85 else "") + body
    raw = text.encode("utf-8", "surrogatepass")
    roll = rng.random()
    if roll < 0.05:
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    elif roll < 0.1:
        raw = b"\xef\xbb\xbf" + raw
    elif roll < 0.15:
        raw = raw.replace(b"\n", b"\r")
    return raw


GOOD = {
    f"good-{i}": f"---\ntitle: God artikel {i}\ndate: 2021-0{i + 1}-01\n---\nKommune nummer {i} har fået {i} mio. kr."
    for i in range(3)
}


@pytest.mark.parametrize("seed", range(4))
def test_random_articles_never_crash_and_never_drop_the_good_ones(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc, text in GOOD.items():
        (corpus / f"{doc}.md").write_text(text)
    for i in range(80):
        (corpus / f"random-{i}{rng.choice(['.md', '.txt', '.markdown'])}").write_bytes(random_article(rng))
    articles, problems = load_articles([corpus])
    assert set(GOOD) <= {a.doc_id for a in articles}
    assert len(articles) + len(problems) == 83
    assert all(p.reason and "\n" not in p.reason for p in problems)

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="fake")
    report = ingest(settings, [corpus], FakeEmbeddings())
    assert set(GOOD) <= set(report.added)
    assert len(report.added) == len(articles)


def test_many_random_files_each_parse_or_give_one_line_reason(tmp_path: Path) -> None:
    rng = random.Random(11)
    for i in range(600):
        (tmp_path / f"r{i}.md").write_bytes(random_article(rng))
    articles, problems = load_articles([tmp_path])
    assert len(articles) + len(problems) == 600
    assert articles and all(p.reason and "\n" not in p.reason for p in problems)
    assert not [p for p in problems if p.reason.startswith("cannot be read")]  # each failure is understood
