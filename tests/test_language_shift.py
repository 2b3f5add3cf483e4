"""Dense search over articles in two languages: a question finds the chunk that means the same in the other
language, not the chunks that merely share its language."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from retrieval.index.snapshot import LanguageShift, SnapshotIndex

DIMS = 8
DANISH, ENGLISH = np.eye(DIMS)[0], np.eye(DIMS)[1]  # what a multilingual embedder adds for the language alone
TOPIC = np.eye(DIMS)[2:]  # six subjects


def vector(topic: int, language: np.ndarray) -> np.ndarray:
    v = TOPIC[topic] + 1.5 * language
    return np.asarray(v / np.linalg.norm(v))


def snapshot(rows: list[tuple[str, int, np.ndarray]], sentences: bool = False) -> SnapshotIndex:
    """Chunks (and, with `sentences`, one sentence each with the chunk's vector), as a saved copy before
    language shifts were saved with it: the index works them out on load."""
    ids = [f"{doc}-{topic}" for doc, topic, _ in rows]
    metas: list[dict[str, Any]] = [
        {"doc_id": doc, "kind": "body", "start": 0, "end": 1} for doc, _, _ in rows
    ]
    chunks: dict[str, Any] = {"ids": ids, "texts": ["x"] * len(rows), "metadatas": metas}
    chunks["languages"] = [doc[:2] for doc, _, _ in rows]
    vectors = np.stack([v for *_, v in rows])
    said: dict[str, Any] = {"ids": [], "texts": [], "metadatas": []}
    if sentences:
        said = {"ids": [f"s{i}" for i in range(len(rows))], "texts": ["x"] * len(rows), "metadatas": metas}
    meta = {"chunks": chunks, "sentences": said}
    return SnapshotIndex(meta, vectors, vectors if sentences else np.zeros((0, DIMS)))


def nearest(index: SnapshotIndex, query: np.ndarray) -> str:
    return index.dense_chunks(list(query), 1)[0][0]


def test_a_question_finds_the_same_subject_in_the_other_language() -> None:
    rows = [(f"da{t}", t, vector(t, DANISH)) for t in range(4)] + [
        (f"en{t}", t, vector(t, ENGLISH)) for t in (4, 5)
    ]
    index = snapshot(rows)
    danish_question_about_4 = vector(4, DANISH)
    raw = np.stack([v for *_, v in rows]) @ danish_question_about_4
    assert rows[int(np.argmax(raw))][0].startswith(
        "da"
    )  # unshifted, any Danish chunk beats the subject itself
    assert nearest(index, danish_question_about_4) == "en4-4"
    assert nearest(index, vector(1, DANISH)) == "da1-1"  # within its own language the order stays


def test_over_one_language_nothing_moves() -> None:
    rows = [(f"da{t}", t, vector(t, DANISH)) for t in range(6)]
    shift = LanguageShift.fit(np.stack([v for *_, v in rows]), ["da"] * 6, [doc for doc, *_ in rows])
    assert not shift.offsets(vector(3, ENGLISH), shift.rows(["da"] * 6)).any()


def test_a_language_of_one_article_is_not_moved_away_from_its_own_subject() -> None:
    rows = [(f"da{t}", t, vector(t, DANISH)) for t in range(4)] + [("en4", 4, vector(4, ENGLISH))] * 3
    index = snapshot(rows)
    assert not index.language_shift.shifts.any()
    assert (
        nearest(index, vector(4, ENGLISH)) == "en4-4"
    )  # an English question still finds the English article


def test_an_old_copy_without_languages_tells_them_from_the_text() -> None:
    texts = [
        "Kommunen har købt en ny bygning til skolen i går.",
        "Byrådet mødes igen i næste måned for at tale om budgettet.",
        "The council bought a new building for the school yesterday.",
        "The students' union said most students answered its survey.",
    ]
    languages = [DANISH, DANISH, ENGLISH, ENGLISH]
    vectors = np.stack([vector(t, lang) for t, lang in enumerate(languages)])
    metas: list[dict[str, Any]] = [{"doc_id": f"doc{t}", "kind": "body"} for t in range(4)]
    empty: dict[str, list[Any]] = {"ids": [], "texts": [], "metadatas": []}
    told = SnapshotIndex(
        {"chunks": {"ids": list("abcd"), "texts": texts, "metadatas": metas}, "sentences": empty},
        vectors,
        np.zeros((0, DIMS)),
    )
    same = SnapshotIndex(
        {"chunks": {"ids": list("abcd"), "texts": ["x"] * 4, "metadatas": metas}, "sentences": empty},
        vectors,
        np.zeros((0, DIMS)),
    )
    assert told.chunk_languages == ["da", "da", "en", "en"]
    assert told.language_shift.shifts.any()
    assert not same.language_shift.shifts.any()  # "x" four times: one language


def test_the_answerer_gets_sentence_vectors_moved_the_same_way() -> None:
    def parts(docs: list[str]) -> np.ndarray:
        rows = [
            (doc, t, vector(t, DANISH if doc.startswith("da") else ENGLISH)) for t, doc in enumerate(docs)
        ]
        return np.asarray(snapshot(rows, sentences=True).doc_parts(docs)[1]["embeddings"])

    one_language = parts(["da0", "da1", "da2"])
    assert np.allclose(one_language, np.stack([vector(t, DANISH) for t in range(3)]))
    two = parts(["da0", "da1", "en2", "en3"])
    question = vector(2, DANISH)
    assert int(np.argmax(two @ question)) == 2  # the English sentence on the subject asked about


def test_the_shifts_worked_out_at_ingest_are_the_ones_a_question_uses() -> None:
    rows = [(f"da{t}", t, vector(t, DANISH)) for t in range(3)] + [
        (f"en{t}", t, vector(t, ENGLISH)) for t in (3, 4)
    ]
    vectors = np.stack([v for *_, v in rows])
    fitted = LanguageShift.fit(vectors, [d[:2] for d, *_ in rows], [d for d, *_ in rows])
    saved = LanguageShift.from_json(json.loads(json.dumps(fitted.to_json())), DIMS)
    assert saved.languages == ("da", "en") and np.allclose(saved.shifts, fitted.shifts)
    assert np.allclose(snapshot(rows).language_shift.shifts, fitted.shifts)
