"""The da/en slice of py3langid's model labels text exactly as the installed model restricted to da/en does."""

from __future__ import annotations

from pathlib import Path

import yaml

from retrieval.evaluation.cases import prompt_files
from retrieval.langid import LANGUAGES, _identifier

ROOT = Path(__file__).resolve().parent.parent


def full_model_identifier() -> object:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def test_the_slice_gives_the_installed_models_label_and_score_on_every_prompt_and_article() -> None:
    texts = [p.read_text() for p in sorted((ROOT / "corpus").glob("*.md"))]
    for path in prompt_files([ROOT / "tests" / "prompts"]):  # the prompt files, not their manifest
        for case in yaml.safe_load(path.read_text())["cases"]:
            texts += [case["question"], *(case.get("history") or [])]
    full, sliced = full_model_identifier(), _identifier()
    assert len(texts) > 250
    for text in texts:
        assert sliced.classify(text) == full.classify(text), text  # type: ignore[attr-defined]
