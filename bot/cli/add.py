"""`kilde add URL|FILE ...`: convert each article, save it as Markdown in the corpus folder and index it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.edge import err, one_line_errors
from bot.safe_text import safe_text
from retrieval.errors import KildeError
from retrieval.settings import Settings


@click.command("add")
@click.argument("sources", nargs=-1, required=True)
@click.pass_obj
@one_line_errors
def add_command(settings: Settings, sources: tuple[str, ...]) -> None:
    """Add articles: web pages by URL, or HTML, PDF, DOCX, Markdown and text files.

    Each is converted (the menus, banners and footers of a page left out), saved as Markdown with its title, date,
    author, publisher and source in front matter in the corpus folder, and indexed. URLs on the server's own
    network are refused unless KILDE_FETCH_ALLOW_PRIVATE=true.
    """
    from retrieval.indexer import add_file, add_url, corpus_folder
    from retrieval.service import build_embeddings

    embeddings = None
    failed = 0
    for source in sources:
        try:
            if embeddings is None:
                embeddings = build_embeddings(settings)
            if source.startswith(("http://", "https://")):
                added = add_url(settings, source, embeddings)
            else:
                added = add_file(settings, Path(source).name, _read(Path(source)), embeddings)
        except KildeError as exc:
            failed += 1
            err.print(f"kilde: error: {safe_text(exc, one_line=True)}", markup=False)
            continue
        click.echo(
            f"added: {safe_text(added.title, one_line=True)} ({safe_text(added.doc_id, one_line=True)})"
        )
        err.print(f"kilde: saved as {added.path}", markup=False)
    if failed:
        err.print(
            f"kilde: {failed} of {len(sources)} not added; nothing else in {corpus_folder(settings)} changed",
            markup=False,
        )
        sys.exit(1)


def _read(path: Path) -> bytes:
    from retrieval.indexer import MAX_ADD_BYTES

    try:
        if path.is_dir():
            raise KildeError(f"{path} is a folder; name the files (or `kilde ingest {path}`)")
        size = path.stat().st_size
        if size > MAX_ADD_BYTES:
            raise KildeError(f"{path}: larger than {MAX_ADD_BYTES // 1_000_000} MB")
        return path.read_bytes()
    except FileNotFoundError:
        raise KildeError(f"no such file: {path}") from None
    except OSError as exc:
        raise KildeError(f"{path}: {exc.strerror or type(exc).__name__}") from None
