from pathlib import Path

import pytest

from retrieval.index.articles import ArticleError, load_articles, parse_article


def test_front_matter_fields(tmp_path: Path) -> None:
    raw = "---\ntitle: En titel\ndate: 2020-07-06\nauthor: A. Forfatter\nurl: https://example.org/a\n---\n\n## Mellemrubrik\n\nTekst her.\n"
    article = parse_article(tmp_path / "my-doc.md", raw.encode())
    assert article.doc_id == "my-doc"
    assert article.title == "En titel"
    assert article.date == "2020-07-06"
    assert article.author == "A. Forfatter"
    assert article.text == "Mellemrubrik\n\nTekst her."


def test_plain_text_takes_its_first_line_as_title(tmp_path: Path) -> None:
    article = parse_article(tmp_path / "note.txt", "Overskrift\n\nBrødtekst.".encode())
    assert article.title == "Overskrift"
    assert article.date is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\x00\x01binary\x00", "binary"),
        ("Hej æøå".encode("latin-1"), "not UTF-8"),
        ("Hej æøå".encode("utf-16"), "UTF-16 text; save it as UTF-8"),
        (b"---\ntitle: [unclosed\n---\nText", "broken front matter"),
        (b"---\ntitle: x\nText without end", "not closed"),
        (b"---\n- a\n- b\n---\nText", "not a mapping"),
        (b"---\ntitle: only\n---\n\n", "no article text"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(tmp_path: Path, raw: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_article(tmp_path / "bad.md", raw)


def test_load_articles_reports_problems_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("---\ntitle: God\n---\nTekst.")
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF")  # PDFs are read now (issue 19): a broken one is reported
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.txt").write_text("Same stem twice.")
    articles, problems = load_articles([tmp_path])
    assert [a.doc_id for a in articles] == ["good"]
    reasons = {p.path.name: p.reason for p in problems}
    assert set(reasons) == {"bad.md", "good.txt", "broken.pdf"}
    assert "same document id" in reasons["good.txt"]


# -- issue 11, item 1: one bad front-matter value never takes the other articles down ----------------------------

GOOD = "---\ntitle: God\n---\nEn god artikel om kommuner.\n"


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("date: 2020-13-45", "line 3: '2020-13-45' is not a valid date"),
        ("date: !!float abc", "line 3: 'abc' is not a valid float"),
        ("date: !!int xyz", "line 3: 'xyz' is not a valid int"),
        ("date: !!timestamp x", "line 3: 'x' is not a valid date"),
        ("date: !!binary 'a'", "broken front matter at line 3"),
        ("date: !!python/object:os.system x", "broken front matter"),
        ("tags: " + "[" * 3000 + "]" * 3000, "nested too deeply"),
        ("a: &a [*a]", "refers to itself"),
    ],
)
def test_a_bad_front_matter_value_is_a_reason_not_a_crash(tmp_path: Path, front: str, reason: str) -> None:
    (tmp_path / "bad.md").write_text(f"---\ntitle: x\n{front}\n---\nTekst.\n")
    (tmp_path / "good.md").write_text(GOOD)
    articles, problems = load_articles([tmp_path])
    assert [a.doc_id for a in articles] == ["good"]
    assert [p.path.name for p in problems] == ["bad.md"]
    assert reason in problems[0].reason


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    import time

    # The "billion laughs": ten lines whose last value is 9**9 strings once every alias is expanded.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (tmp_path / "bomb.md").write_text("---\n" + "\n".join(lines) + "\nauthor: *a9\n---\nTekst.\n")
    (tmp_path / "good.md").write_text(GOOD)
    started = time.perf_counter()
    articles, problems = load_articles([tmp_path])
    assert time.perf_counter() - started < 2
    assert [a.doc_id for a in articles] == ["good"]
    assert "expands to more than" in problems[0].reason


def test_a_few_yaml_aliases_are_fine(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nauthor: &who Pia\npublisher: *who\n---\nTekst.\n")
    (article,), _ = load_articles([tmp_path])
    assert article.publisher == "Pia"


def test_huge_front_matter_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.md").write_text("---\ntitle: " + "x" * 100_000 + "\n---\nTekst.\n")
    _, (problem,) = load_articles([tmp_path])
    assert "front matter is longer than" in problem.reason


def test_any_unexpected_failure_is_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval.index import articles as documents

    def boom(path: Path, raw: bytes) -> documents.Article:
        if path.name == "bad.md":
            raise MemoryError
        return parse_article(path, raw)

    monkeypatch.setattr(documents, "parse_article", boom)
    (tmp_path / "bad.md").write_text(GOOD)
    (tmp_path / "good.md").write_text(GOOD.replace("God", "Også god"))
    articles, problems = load_articles([tmp_path])
    assert [a.doc_id for a in articles] == ["good"]
    assert problems[0].reason == "cannot be read (MemoryError)"


# -- issue 11, item 2: symbolic links never reach outside the corpus ----------------------------------------------


def test_a_symlink_out_of_the_corpus_is_refused(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "secret"
    corpus.mkdir()
    outside.mkdir()
    (outside / "passwd.md").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (corpus / "good.md").write_text(GOOD)
    (corpus / "passwd.md").symlink_to(outside / "passwd.md")
    (corpus / "etc.md").symlink_to("/etc/hostname")
    (corpus / "dir").symlink_to(outside, target_is_directory=True)
    articles, problems = load_articles([corpus])
    assert [a.doc_id for a in articles] == ["good"]
    reasons = {p.path.name: p.reason for p in problems}
    assert set(reasons) == {"passwd.md", "etc.md", "dir"}
    assert all("outside the corpus" in r for r in reasons.values())
    assert not any("root:x" in a.text for a in articles)


def test_a_symlink_inside_the_corpus_is_followed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "real.md").write_text(GOOD)
    (corpus / "alias.md").symlink_to(corpus / "sub" / "real.md")
    (corpus / "again").symlink_to(corpus / "sub", target_is_directory=True)  # not walked twice
    (corpus / "dangling.md").symlink_to(corpus / "nowhere.md")
    (corpus / "loop.md").symlink_to(corpus / "loop.md")
    articles, problems = load_articles([corpus])
    assert sorted(a.doc_id for a in articles) == ["alias", "real"]
    reasons = {p.path.name: p.reason for p in problems}
    assert set(reasons) == {"dangling.md", "loop.md"}


def test_special_files_are_not_read(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo.md")  # opening it for reading would hang
    (tmp_path / "good.md").write_text(GOOD)
    articles, _ = load_articles([tmp_path])
    assert [a.doc_id for a in articles] == ["good"]


def test_a_lone_surrogate_in_front_matter_is_replaced_not_fatal(tmp_path: Path) -> None:
    article = parse_article(tmp_path / "s.md", b'---\ntitle: "A \\uD800 B"\n---\nTekst.')
    assert article.title == "A ? B"
    article.title.encode()  # the index and its hashes encode every field


def test_an_article_replaced_by_a_link_out_of_the_corpus_leaves_the_index(tmp_path: Path) -> None:
    """A broken file keeps what the index had for it; a link out of the corpus must not (an older kilde followed it)."""
    from retrieval.index.embeddings import FakeEmbeddings
    from retrieval.index.ingest import ingest
    from retrieval.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD)
    (corpus / "passwd.md").write_text("root:x:0:0:root:/root:/bin/bash\n")
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="fake")
    assert "passwd" in ingest(settings, [corpus], FakeEmbeddings()).added
    (corpus / "passwd.md").unlink()
    (corpus / "passwd.md").symlink_to("/etc/passwd")
    report = ingest(settings, [corpus], FakeEmbeddings())
    assert report.deleted == ["passwd"]
    assert "outside the corpus" in report.problems[0].reason
