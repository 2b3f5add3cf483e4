"""Hash-based vectors for tests where the embedder is not what is tested (LangChain's fake embedder)."""

from __future__ import annotations

from langchain_core.embeddings import DeterministicFakeEmbedding


class FakeEmbeddings(DeterministicFakeEmbedding):
    """Hash-based vectors for tests where the embedder is not what is tested."""

    name: str = "fake-384"

    def __init__(self) -> None:
        super().__init__(size=384)
