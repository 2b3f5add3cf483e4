"""The edge where user errors become one line on stderr and an exit code, for every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.safe_text import safe_text
from retrieval.errors import KildeError

if TYPE_CHECKING:
    from rich.console import Console

    err: Console  # stderr, made on first use (module `__getattr__` below)

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def stderr_console() -> Console:
    # rich takes a third of `kilde --help`'s start: loaded when something is printed, not before.
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def __getattr__(name: str) -> Any:
    if name == "err":
        return stderr_console()
    raise AttributeError(name)


def one_line_errors(func: F) -> F:
    """Turn user errors into `kilde: error: ...` and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KildeError as exc:
            stderr_console().print(f"kilde: error: {safe_text(exc, visible=True)}", markup=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            stderr_console().print("kilde: interrupted", markup=False)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
