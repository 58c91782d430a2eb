"""Structured logs (one JSON object per line) and the request id carried through a request."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "openqpp_request_id", default=None
)

_RESERVED = set(vars(logging.makeLogRecord({})))


_KEY_VALUES = re.compile(r"^(DETAIL:\s+Key \((?:[^()]|\([^()]*\))*\)=)\(.*\)", re.MULTILINE)
"""PostgreSQL's DETAIL line for a key violation, ``Key (tin, npi)=(123456789, 1234567893)
already exists.``: the values are what the log must not carry (SQLAlchemy already hides the
bound parameters, ``hide_parameters``); the column names stay."""


_ROW_VALUES = re.compile(r"^(DETAIL:\s+Failing row contains )\(.*\)", re.MULTILINE)
"""A NOT NULL or CHECK violation's DETAIL line quotes the whole row."""


def redact_database_values(text: str) -> str:
    """``text`` (a traceback) without the values PostgreSQL's DETAIL lines quote."""
    text = _KEY_VALUES.sub(r"\1(values not logged)", text)
    return _ROW_VALUES.sub(r"\1(values not logged)", text)


class _Redacting(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return redact_database_values(super().formatException(ei))


class PlainFormatter(_Redacting):
    """The text format (``OPENQPP_LOG_JSON=false``), with database values kept out."""


class JsonFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "info", *, as_json: bool = True) -> None:
    handler = _StderrHandler()
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("openqpp")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # A logging.config call elsewhere (disable_existing_loggers) must not silence ours.
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith("openqpp") and isinstance(logger, logging.Logger):
            logger.disabled = False
