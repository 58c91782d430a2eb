"""Errors of the claims batch: refused inputs (with file, column and row) and missing engines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from openqpp.core.errors import Location, OpenQppError


class BatchInputError(OpenQppError, ValueError):
    """An input table was refused; nothing was computed.

    ``file`` is the file as found in the inputs directory, ``column`` the column, ``row`` the
    offending row: the 1-based data row of a CSV file (the header is not counted) or the row index
    of a Parquet file (0-based, as Parquet tools show it). ``value`` is the offending value as text
    and ``count`` how many rows of the table share the problem.
    """

    code = "OQ-CLAIMS-000"

    def __init__(
        self,
        message: str,
        *,
        fix: str,
        code: str,
        table: str | None = None,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: str | None = None,
        count: int | None = None,
    ) -> None:
        self.table = table
        self.file = file
        self.column = column
        self.row = row
        self.value = value
        self.count = count
        super().__init__(
            message,
            fix=fix,
            code=code,
            location=Location(file=file, path=column, line=row),
        )


class BatchInputErrors(BatchInputError):
    """Every problem found in the inputs, in the order the tables and checks were run.

    The error's own code, file, column and row are those of the first problem; ``errors`` holds
    them all, so a caller can show the complete list at once.
    """

    def __init__(self, errors: Sequence[BatchInputError]) -> None:
        if not errors:
            raise ValueError("BatchInputErrors needs at least one error")
        self.errors: tuple[BatchInputError, ...] = tuple(errors)
        first = self.errors[0]
        if len(self.errors) == 1:
            message = first.message
        else:
            listed = "\n".join(
                f"  {n}. [{e.code}] {e.message}" for n, e in enumerate(self.errors, start=1)
            )
            message = f"{len(self.errors)} problems in the claims inputs:\n{listed}"
        super().__init__(
            message,
            fix=first.fix
            if len(self.errors) == 1
            else "Correct each problem listed, then run again.",
            code=first.code,
            table=first.table,
            file=first.file,
            column=first.column,
            row=first.row,
            value=first.value,
            count=first.count,
        )

    def __iter__(self) -> Iterator[BatchInputError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)


class EngineUnavailable(OpenQppError, RuntimeError):
    """The engine asked for cannot run here (for example pyspark or Java is missing)."""

    code = "OQ-BATCH-001"
