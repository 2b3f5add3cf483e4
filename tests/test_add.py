"""Adding and removing articles (`kilde add`, the facade the Telegram admin commands call), and fetching safely.

Every server here is a loopback server the test starts itself; fetching loopback needs
KILDE_FETCH_ALLOW_PRIVATE (`fetch_allow_private`), which is off by default, and one test proves that.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from retrieval.errors import UsageError
from retrieval.index.fetch import FetchError, checked_address
from retrieval.indexer import add_file, add_url, list_articles, remove_article
from retrieval.settings import PROJECT_ROOT, Settings

RAW = PROJECT_ROOT / "benchmarks" / "cleaning" / "raw"
PAGE = (RAW / "en_news.html").read_bytes()
BIG = 30_000_000
SEEN_AGENTS: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, ctype: str, body: bytes, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(
            BrokenPipeError, ConnectionResetError
        ):  # the client stopped reading on purpose
            self.wfile.write(body)

    def do_GET(self) -> None:
        SEEN_AGENTS.append(self.headers.get("User-Agent", ""))
        path = self.path
        if path == "/article.html":
            self._send(200, "text/html; charset=utf-8", PAGE)
        elif path == "/report.pdf":
            self._send(200, "application/pdf", (RAW / "da_rapport.pdf").read_bytes())
        elif path == "/big":
            self._send(200, "text/html", b"<p>" + b"x" * BIG)
        elif path == "/big-unannounced":  # no Content-Length: the cap must count what arrives
            self._send(200, "text/html", b"<p>" + b"x " * (BIG // 2), length=False)
        elif path == "/image":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(1000))
        elif path == "/json":
            self._send(200, "application/json", b'{"title": "not an article"}')
        elif path == "/login":
            self._send(
                200,
                "text/html",
                b"<html><body><form><input name=user><input type=password></form></body></html>",
            )
        elif path == "/slow":
            time.sleep(3)
            self._send(200, "text/html", PAGE)
        elif path in ("/loop-a", "/loop-b"):
            self.send_response(302)
            self.send_header("Location", "/loop-b" if path == "/loop-a" else "/loop-a")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/article.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, "text/plain", b"not found")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def open_settings(fake_settings: Settings) -> Settings:
    """Loopback allowed (the test servers live there) and a short time limit, so a slow server costs 1 s."""
    return fake_settings.replace(fetch_allow_private=True, fetch_timeout=1.0)


def _state(settings: Settings) -> tuple[list[str], list[str]]:
    """What a failure must not change: the corpus folder's files and the articles the index holds."""
    files = sorted(p.name for p in settings.corpus_dir.iterdir())
    return files, [d.doc_id for d in list_articles(settings)] if (
        settings.data_dir / "state.json"
    ).exists() else []


def test_loopback_is_refused_by_default_with_one_line(fake_settings: Settings, server: str) -> None:
    before = _state(fake_settings)
    with pytest.raises(FetchError) as caught:
        add_url(fake_settings, f"{server}/article.html")
    assert str(caught.value) == (
        "refused: 127.0.0.1 is a loopback address, the server's own network (KILDE_FETCH_ALLOW_PRIVATE=true allows it)"
    )
    assert _state(fake_settings) == before


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("0.0.0.0", "the unspecified address"),
    ],
)
def test_every_private_kind_of_address_is_refused(address: str, why: str) -> None:
    with pytest.raises(FetchError, match=why):
        checked_address(address, 80, allow_private=False)
    assert checked_address(address, 80, allow_private=True) == address


def test_a_host_with_one_private_address_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolve(host: str, port: object, *args: object, **kwargs: object) -> list[object]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 80)) for ip in ("93.184.215.14", "10.0.0.7")]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(FetchError, match=r"refused: news\.example \(10\.0\.0\.7\) is a private address"):
        checked_address("news.example", 80, allow_private=False)


def test_the_connection_goes_to_the_address_that_was_checked(
    open_settings: Settings, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that real DNS does not know is fetched: we connect to the address our one look-up gave, and the
    server still sees the name (a DNS answer that changes after the check cannot redirect the connection)."""
    real = socket.getaddrinfo
    port = int(server.rsplit(":", 1)[1])

    def resolve(host: str, *args: object, **kwargs: object) -> list[object]:
        if host == "articles.invalid":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    SEEN_AGENTS.clear()
    added = add_url(open_settings, f"http://articles.invalid:{port}/article.html")
    assert added.title == "Harbour town votes to rebuild its flooded sea wall"
    assert SEEN_AGENTS and SEEN_AGENTS[0].startswith("kilde/")


def test_add_url_saves_markdown_with_its_source_and_indexes_it(open_settings: Settings, server: str) -> None:
    added = add_url(open_settings, f"{server}/moved")  # a redirect, followed
    assert added.path.parent == open_settings.corpus_dir
    saved = added.path.read_text()
    assert f"url: {server}/article.html" in saved and "author: Margaret Ellison" in saved
    assert "cookies" not in saved
    held = {d.doc_id: d for d in list_articles(open_settings)}
    assert added.doc_id in held and held[added.doc_id].title == added.title
    with pytest.raises(UsageError, match="already in the index as"):
        add_url(open_settings, f"{server}/article.html")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/big", "larger than 20 MB"),
        ("/big-unannounced", "larger than 20 MB"),
        ("/image", "sends image/png, not an article"),
        ("/json", "sends application/json, not an article"),
        ("/login", "no article text found in the page"),
        ("/slow", "did not answer within the time allowed|took longer than the time allowed"),
        ("/loop-a", "more than 5 redirects"),
        ("/missing", "answered 404"),
    ],
)
def test_bad_urls_get_one_line_and_change_nothing(
    open_settings: Settings, server: str, path: str, reason: str
) -> None:
    before = _state(open_settings)
    with pytest.raises(UsageError, match=reason) as caught:
        add_url(open_settings, f"{server}{path}")
    assert "\n" not in str(caught.value)
    assert _state(open_settings) == before


def test_not_http_is_refused(open_settings: Settings) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/a", "http://"):
        with pytest.raises(FetchError, match="not an http"):
            add_url(open_settings, url)


def test_add_file_and_remove_it_again(fake_settings: Settings) -> None:
    before = _state(fake_settings)
    added = add_file(fake_settings, "da_rapport.pdf", (RAW / "da_rapport.pdf").read_bytes())
    saved = added.path.read_text()
    assert "source_file: da_rapport.pdf" in saved and "<!-- page 2 -->" in saved
    assert added.doc_id in [d.doc_id for d in list_articles(fake_settings)]
    assert remove_article(fake_settings, added.doc_id) == "Evaluering af frivilligcentre i Nordvest"
    assert not added.path.exists()
    assert [p.name.endswith(added.path.name) for p in (fake_settings.data_dir / "removed").iterdir()] == [
        True
    ]
    files, held = _state(fake_settings)
    assert files == before[0] and sorted(held) == sorted(name.removesuffix(".md") for name in files)
    with pytest.raises(UsageError, match="no article with id"):
        remove_article(fake_settings, added.doc_id)


def test_a_bad_file_changes_nothing(fake_settings: Settings) -> None:
    add_file(fake_settings, "en_memo.docx", (RAW / "en_memo.docx").read_bytes())  # an index to keep
    before = _state(fake_settings)
    for name, data in [
        ("bomb.docx", b"PK\x03\x04broken"),
        ("scan.pdf", b"%PDF-1.4\n%%EOF"),
        ("empty.txt", b"  \n"),
    ]:
        with pytest.raises(UsageError) as caught:
            add_file(fake_settings, name, data)
        assert str(caught.value).startswith(f"{name}: ")
        assert _state(fake_settings) == before


def test_list_articles_is_sorted_by_date(fake_settings: Settings) -> None:
    add_file(fake_settings, "en_memo.docx", (RAW / "en_memo.docx").read_bytes())
    dates = [d.date or "" for d in list_articles(fake_settings)]
    assert dates == sorted(dates) and len(dates) == 6


def test_kilde_add_prints_title_and_id(tmp_path: Path, corpus_copy: Path, server: str) -> None:
    env = {
        "KILDE_EMBEDDER": "fake",
        "KILDE_CORPUS_DIR": str(corpus_copy),
        "KILDE_DATA_DIR": str(tmp_path / "data"),
    }
    result = CliRunner().invoke(cli, ["add", str(RAW / "en_scraped.txt")], env=env)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "added: Library cards for every newborn in Westbury (library-cards-for-every-newborn-in-westbury)\n"
    )
    assert (corpus_copy / "library-cards-for-every-newborn-in-westbury.md").exists()

    refused = CliRunner().invoke(cli, ["add", f"{server}/article.html"], env=env)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0] == (
        "kilde: error: refused: 127.0.0.1 is a loopback address, the server's own network "
        "(KILDE_FETCH_ALLOW_PRIVATE=true allows it)"
    )


def test_list_articles_of_a_new_data_dir_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", embedder="fake")
    assert list_articles(settings) == []
    assert not (tmp_path / "data").exists()


def test_a_second_article_with_the_same_title_gets_its_own_file(fake_settings: Settings) -> None:
    data = (RAW / "en_memo.docx").read_bytes()
    first = add_file(fake_settings, "memo.docx", data)
    second = add_file(fake_settings, "memo-copy.docx", data)
    assert (first.doc_id, second.doc_id) == (
        "changes-to-the-staff-travel-policy",
        "changes-to-the-staff-travel-policy-2",
    )
    assert {first.doc_id, second.doc_id} <= {d.doc_id for d in list_articles(fake_settings)}
