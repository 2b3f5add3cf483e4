"""Fetching one article by url, safely: `kilde add URL` and Telegram admins make the server fetch what they name.

Bounded in time (KILDE_FETCH_TIMEOUT for the whole fetch), size (KILDE_FETCH_MAX_BYTES) and redirects (5), only
content types kilde reads, a user agent that says who asks. It never reaches the server's own network: every
address the host resolves to must be public (not loopback, private, link-local, shared or reserved), checked again
on every redirect, and the connection goes to the address that was checked (so a DNS answer that changes between
the check and the connection cannot point it elsewhere); KILDE_FETCH_ALLOW_PRIVATE=true allows such addresses.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from retrieval.errors import UsageError
from retrieval.settings import Settings

MAX_REDIRECTS = 5
USER_AGENT = "kilde/0.1 (fetches one article a user asked to add to a local question-answering corpus)"
ACCEPTED_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
    "text/markdown",
    "text/x-markdown",
    "application/octet-stream",  # many servers send files so; the converter then goes by name and bytes
}
ACCEPT = "text/html,application/xhtml+xml,application/pdf,text/plain;q=0.8,*/*;q=0.1"


class FetchError(UsageError):
    """The url cannot be added; the message is one line that says why."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    data: bytes
    name: str  # the last part of the url's path, for the converter to go by (e.g. report.pdf)


def fetch(url: str, settings: Settings) -> Fetched:
    deadline = time.monotonic() + settings.fetch_timeout
    current = url.strip()
    timeout = httpx.Timeout(min(10.0, settings.fetch_timeout), read=min(20.0, settings.fetch_timeout))
    # trust_env=False: no proxy from the environment, so the address checked is the address reached.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=True) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError(f"{_shown(current)}: not an http(s) url")
            address = checked_address(parts.hostname, parts.port, settings.fetch_allow_private)
            response = _send(client, current, address, deadline, settings)
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(f"{_shown(current)}: a redirect without a Location")
                    current = urljoin(current, location)
                    continue
                return _read(response, current, deadline, settings)
            finally:
                response.close()
    raise FetchError(f"{_shown(url)}: more than {MAX_REDIRECTS} redirects (a redirect loop?)")


def checked_address(host: str, port: int | None, allow_private: bool) -> str:
    """An address of `host` to connect to; FetchError if any of its addresses is in a private network."""
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"{host}: cannot be resolved ({exc.args[-1] if exc.args else exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"{host}: cannot be resolved")
    if not allow_private:
        for address in addresses:
            why = _private(address)
            if why:
                shown = host if host == address else f"{host} ({address})"
                raise FetchError(
                    f"refused: {shown} is {why}, the server's own network "
                    "(KILDE_FETCH_ALLOW_PRIVATE=true allows it)"
                )
    return addresses[0]


def _private(address: str) -> str | None:
    """Why `address` is not on the public internet, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_unspecified:  # 0.0.0.0 reaches this machine on Linux
        return "the unspecified address (this machine)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


def _send(
    client: httpx.Client, url: str, address: str, deadline: float, settings: Settings
) -> httpx.Response:
    parts = urlsplit(url)
    host = parts.hostname or ""
    pinned = httpx.URL(url).copy_with(host=address)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Host": parts.netloc.rsplit("@", 1)[-1]}
    # The connection goes to the checked address; TLS still names (and verifies the certificate of) the host.
    request = client.build_request("GET", pinned, headers=headers, extensions={"sni_hostname": host})
    _check_deadline(deadline, url)
    try:
        return client.send(request, stream=True)
    except httpx.TimeoutException:
        raise FetchError(f"{_shown(url)}: the server did not answer within the time allowed") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{_shown(url)}: cannot be fetched ({_reason(exc)})") from None


def _read(response: httpx.Response, url: str, deadline: float, settings: Settings) -> Fetched:
    if response.status_code >= 400:
        raise FetchError(
            f"{_shown(url)}: the server answered {response.status_code} {response.reason_phrase}"
        )
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in ACCEPTED_TYPES:
        raise FetchError(
            f"{_shown(url)}: the server sends {content_type}, not an article (HTML, PDF, DOCX, Markdown or text)"
        )
    limit = settings.fetch_max_bytes
    too_large = f"{_shown(url)}: larger than {limit / 1_000_000:g} MB"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(too_large)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:  # counted as it arrives (after decompression), so a lying server is cut off too
                raise FetchError(too_large)
            chunks.append(chunk)
            _check_deadline(deadline, url)
    except httpx.TimeoutException:
        raise FetchError(f"{_shown(url)}: the server stopped sending within the time allowed") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{_shown(url)}: cannot be fetched ({_reason(exc)})") from None
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or (urlsplit(url).hostname or "page")
    return Fetched(url=url, content_type=content_type, data=b"".join(chunks), name=name)


def _check_deadline(deadline: float, url: str) -> None:
    if time.monotonic() > deadline:
        raise FetchError(f"{_shown(url)}: took longer than the time allowed (KILDE_FETCH_TIMEOUT)")


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _shown(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "…"
