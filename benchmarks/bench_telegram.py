"""Telegram bot benchmark: the real bot long-polling a fake Bot API server on 127.0.0.1, many chats at once.

    uv run python benchmarks/bench_telegram.py [--chats 50] [--questions 5] [--delay 0.02] [--max-rate 30] [--smoke]

Two phases, each with its own chats:
- burst: every chat sends all its questions at once (one long queue per chat: order and fairness under load);
- conversation: every chat asks its next question when the previous answer arrived (latency as a user sees it).
The answer service is a fake that sleeps `--delay` seconds per answer. Replies are checked: every question
answered exactly once, in order per chat. Latency is from the update being offered by getUpdates to the
answer's sendMessage reaching the server. `--max-rate` is the rate limiter's overall messages per second
(Telegram's limit is 30; chat actions count too); 0 turns throttling off to measure the bot itself.
Exits 1 when a reply is missing, duplicated or out of order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram.ext import AIORateLimiter  # noqa: E402

import bot.telegram.app  # noqa: E402
from bot.telegram.app import ALLOWED_UPDATES, build_application  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.types import Answer, Citation, DocumentInfo, Turn  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer  # noqa: E402

TOKEN = "424242:BENCH-fake-token"
_ID = re.compile(r"chat (\d+) q (\d+)")


class SleepyService:
    """Answers after `delay` seconds, naming the question it answers so replies can be matched."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        time.sleep(self.delay)
        found = _ID.search(question)
        tag = found.group(0) if found else "?"
        text = f"Svar på «{tag}»: jobcentret hjalp {len(history or [])} gange [1]."
        cite = Citation(1, "d", "c", "Jobcamp 2018", "2018-05-01", "https://example.org/a", "Citat.")
        return Answer(question, text, False, "da", [cite])

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo("d", "Jobcamp 2018")]


@dataclass
class PhaseResult:
    name: str
    expected: int
    received: int
    missing: int
    duplicated: int
    out_of_order: int
    seconds: float
    latencies: list[float]

    @property
    def ok(self) -> bool:
        return self.received == self.expected and not (self.missing or self.duplicated or self.out_of_order)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def check(name: str, server: FakeTelegramServer, chats: list[int], questions: int, asked: dict[tuple[int, int], float],
          started: float) -> PhaseResult:  # fmt: skip
    latencies, missing, duplicated, out_of_order, received = [], 0, 0, 0, 0
    last = started
    for chat in chats:
        replies = [(c, _ID.search(c.text)) for c in server.sent(chat)]
        order = [int(m.group(2)) for _, m in replies if m]
        received += len(replies)
        duplicated += len(order) - len(set(order))
        missing += len(set(range(questions)) - set(order))
        out_of_order += int(order != sorted(order))
        for call, m in replies:
            if m:
                latencies.append(call.at - asked[(chat, int(m.group(2)))])
                last = max(last, call.at)
    return PhaseResult(name, len(chats) * questions, received, missing, duplicated, out_of_order, last - started,
                       latencies)  # fmt: skip


async def burst(server: FakeTelegramServer, chats: list[int], questions: int, within: float) -> PhaseResult:
    asked: dict[tuple[int, int], float] = {}
    started = time.monotonic()
    for q in range(questions):
        for chat in chats:
            update = server.message(chat, f"chat {chat} q {q}: hvad skete der så?")
            asked[(chat, q)] = server.pushed_at[update["update_id"]]
    total = len(chats) * questions
    wanted = set(chats)
    with contextlib.suppress(AssertionError):  # counted as missing below
        await server.wait_for(lambda: len([c for c in server.sent() if c.chat_id in wanted]) >= total, within)
    await asyncio.sleep(0.3)  # let late duplicates show up
    return check("burst", server, chats, questions, asked, started)


async def conversation(
    server: FakeTelegramServer, chats: list[int], questions: int, within: float
) -> PhaseResult:
    asked: dict[tuple[int, int], float] = {}
    started = time.monotonic()

    async def talk(chat: int) -> None:
        for q in range(questions):
            update = server.message(chat, f"chat {chat} q {q}: og hvad så?")
            asked[(chat, q)] = server.pushed_at[update["update_id"]]
            await server.wait_for(lambda q=q: len(server.sent(chat)) > q, within)  # type: ignore[misc]

    results = await asyncio.gather(*(talk(chat) for chat in chats), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"conversation: {len(failures)} chat(s) timed out", file=sys.stderr)
    await asyncio.sleep(0.3)
    return check("conversation", server, chats, questions, asked, started)


async def run(args: argparse.Namespace) -> list[PhaseResult]:
    chats, questions = (5, 2) if args.smoke else (args.chats, args.questions)
    bot.telegram.app.ANSWER_THREADS = args.threads
    async with FakeTelegramServer(token=TOKEN) as server:
        burst_chats = [10_000 + n for n in range(chats)]
        talk_chats = [20_000 + n for n in range(chats)]
        settings = Settings(
            data_dir=Path(tempfile.mkdtemp(prefix="kilde-bench-tg-")),
            telegram_token=TOKEN,  # type: ignore[arg-type]
            telegram_api_url=server.api_url,
            telegram_allowed_ids=burst_chats + talk_chats,
        )
        limiter = AIORateLimiter(overall_max_rate=args.max_rate, max_retries=3)
        app = build_application(settings, SleepyService(args.delay), rate_limiter=limiter)
        async with app:
            assert app.updater is not None and app.post_init is not None
            await app.post_init(app)  # as run_polling does
            await app.updater.start_polling(poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES)
            await app.start()
            try:
                results = [
                    await burst(server, burst_chats, questions, args.timeout),
                    await conversation(server, talk_chats, questions, args.timeout),
                ]
            finally:
                await app.updater.stop()
                await app.stop()
        if args.transcript:
            print(server.transcript({"sendMessage", "sendChatAction"}, width=60))
        throttled = sum(1 for c in server.calls if c.status == 429)
        print(
            f"requests: {len(server.calls)} recorded, {server.get_updates_count} getUpdates, {throttled} answered 429"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5, help="questions per chat")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds the fake service takes per answer")
    parser.add_argument(
        "--max-rate", type=float, default=30, help="rate limiter: messages per second (0: off)"
    )
    parser.add_argument(
        "--threads", type=int, default=bot.telegram.app.ANSWER_THREADS, help="answer worker threads"
    )
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--transcript", action="store_true", help="print every sendMessage/sendChatAction")
    parser.add_argument("--smoke", action="store_true", help="5 chats x 2 questions, for CI")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    limit = f"{args.max_rate:g} msg/s" if args.max_rate else "off"
    print(
        f"\n{args.chats if not args.smoke else 5} chats x {args.questions if not args.smoke else 2} questions, "
        f"service delay {args.delay * 1000:.0f} ms, {args.threads} answer threads, rate limit {limit}\n"
    )
    print("| phase | replies | missing | duplicated | chats out of order | throughput | p50 | p95 | max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lat = [x * 1000 for x in r.latencies]
        rate = r.received / r.seconds if r.seconds > 0 else 0.0
        print(
            f"| {r.name} | {r.received}/{r.expected} | {r.missing} | {r.duplicated} | {r.out_of_order} | "
            f"{rate:.1f}/s | {percentile(lat, 50):.0f} ms | {percentile(lat, 95):.0f} ms | "
            f"{max(lat, default=float('nan')):.0f} ms |"
        )
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"\nFAILED: {', '.join(failed)}: replies missing, duplicated or out of order", file=sys.stderr)
        sys.exit(1)
    print("\nall replies arrived exactly once, in order per chat")


if __name__ == "__main__":
    main()
