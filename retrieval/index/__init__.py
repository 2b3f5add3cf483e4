"""The index: articles, chunks, embeddings, the Chroma store, BM25, hybrid search, ingest."""
