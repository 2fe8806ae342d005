"""OneLineErrors: usage errors as one line, `error: ...`, exit status 2.

typer draws usage errors (an unknown --preset, a missing argument) as a boxed,
multi-line panel; the harness promises one line for every kind of bad input.
"""

from typing import Any

import typer
from typer.core import TyperGroup

# typer re-exports BadParameter but not its base class, which all usage errors share.
UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


class OneLineErrors(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as e:
            typer.echo(f"error: {e.format_message()}", err=True)  # type: ignore[attr-defined]
            raise typer.Exit(code=2) from None
