"""What every command shares: the console and turning user-facing errors into exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from openqpp.core.errors import OpenQppError
from openqpp.policy import PolicyFileError, UnsupportedPerformanceYear

console = Console()
err_console = Console(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a user-facing error with its code and fix, and exit 2, instead of a traceback."""
    try:
        yield
    except OpenQppError as exc:
        err_console.print(f"[bold red]error[/] [{exc.code}] {exc.message}")
        err_console.print(f"[yellow]how to fix:[/] {exc.fix}")
        if exc.location is not None:
            err_console.print(f"[dim]where:[/] {exc.location.describe()}")
        raise typer.Exit(2) from None
    except (UnsupportedPerformanceYear, PolicyFileError) as exc:
        code = getattr(exc, "code", "OQ-POLICY")
        err_console.print("error", style="bold red", end=" ")
        err_console.print(f"[{code}] {exc}", markup=False)
        raise typer.Exit(2) from None
    except LookupError as exc:
        code = getattr(exc, "code", None)
        if code is None:
            raise
        err_console.print(f"error [{code}] {exc}", markup=False, style="red")
        raise typer.Exit(2) from None


def with_user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return func(*args, **kwargs)

    return wrapper
