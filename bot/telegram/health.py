"""`python -m bot.telegram.health`: the container's health check. Healthy while the bot's heartbeat file is fresh
and the process that wrote it still runs.

The bot touches `KILDE_HEARTBEAT_FILE` after every successful long poll of Telegram (about every 10 s), writes
its process id into it, and removes it when it stops cleanly; so a stale, missing or orphaned file means the bot
is not polling, even if a process still runs. Standard library only: it runs every 30 s inside the container and
must stay cheap (no settings, no Telegram, no index). Every outcome is one line; exit 0 healthy, 1 unhealthy
(Docker reserves 2).
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

MAX_AGE = 120.0  # seconds; a long poll returns at least every 10 s, so this allows for a few failed ones
CLOCK_SLACK = 2.0  # seconds a heartbeat may seem to come from the future (coarse file system timestamps)


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the heartbeat at `path` was touched, or None when there is none."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return (time.time() if now is None else now) - mtime


def max_age(value: str | None) -> float:
    """`KILDE_HEARTBEAT_MAX_AGE` in seconds (default `MAX_AGE`); `ValueError` with one line when it is not one."""
    if value is None or not value.strip():
        return MAX_AGE
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"KILDE_HEARTBEAT_MAX_AGE must be a positive number of seconds, not {value[:40]!r}")
    return seconds


def writer_runs(path: Path) -> bool | None:
    """Whether the process named in the heartbeat still runs (None: the file names none)."""
    try:
        pid = int(path.read_text(encoding="ascii").strip() or "0")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def check(name: str | None, max_age_value: str | None, now: float | None = None) -> tuple[bool, str]:
    """(healthy, the one line saying why)."""
    if not name:
        return False, "unhealthy: KILDE_HEARTBEAT_FILE is not set, so the bot writes no heartbeat"
    try:
        limit = max_age(max_age_value)
    except ValueError as exc:
        return False, f"unhealthy: {exc}"
    path = Path(name)
    age = heartbeat_age(path, now)
    if age is None:
        return False, f"unhealthy: no heartbeat at {name} (the bot has not reached Telegram, or it stopped)"
    if age < -CLOCK_SLACK:
        return (
            False,
            f"unhealthy: the heartbeat at {name} is dated {-age:.0f} s in the future (clock changed?)",
        )
    if age > limit:
        return False, f"unhealthy: the last successful poll of Telegram was {age:.0f} s ago"
    if writer_runs(path) is False:
        return False, f"unhealthy: the bot that wrote {name} is no longer running"
    return True, f"healthy: the last successful poll of Telegram was {max(age, 0):.0f} s ago"


def main() -> int:
    healthy, line = check(os.environ.get("KILDE_HEARTBEAT_FILE"), os.environ.get("KILDE_HEARTBEAT_MAX_AGE"))
    print(line)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
