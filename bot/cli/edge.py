"""The edge where user errors become one line on stderr and an exit code, for every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console

from bot.safe_text import safe_text
from retrieval.errors import KildeError

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True, highlight=False, soft_wrap=True)


def one_line_errors(func: F) -> F:
    """Turn user errors into `kilde: error: ...` and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KildeError as exc:
            err.print(f"kilde: error: {safe_text(exc, visible=True)}", markup=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err.print("kilde: interrupted", markup=False)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
