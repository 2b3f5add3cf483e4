"""`python -m bot.telegram.health`: the container's health check. Healthy while the bot's heartbeat file is fresh.

The bot touches `KILDE_HEARTBEAT_FILE` after every successful long poll of Telegram (about every 10 s), so a
stale file means polling stopped working even though the process still runs. Standard library only: it runs
every 30 s inside the container and must stay cheap (no settings, no Telegram, no index).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

MAX_AGE = 120.0  # seconds; a long poll returns at least every 10 s, so this allows for a few failed ones


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the heartbeat at `path` was touched, or None when there is none."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return (time.time() if now is None else now) - mtime


def main() -> int:
    name = os.environ.get("KILDE_HEARTBEAT_FILE")
    if not name:
        print("unhealthy: KILDE_HEARTBEAT_FILE is not set, so the bot writes no heartbeat")
        return 1
    max_age = float(os.environ.get("KILDE_HEARTBEAT_MAX_AGE", MAX_AGE))
    age = heartbeat_age(Path(name))
    if age is None:
        print(f"unhealthy: no heartbeat at {name} yet (the bot has not reached Telegram)")
        return 1
    if age > max_age:
        print(f"unhealthy: the last successful poll of Telegram was {age:.0f} s ago")
        return 1
    print(f"healthy: the last successful poll of Telegram was {age:.0f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
