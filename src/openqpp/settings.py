"""Runtime settings, read from OPENQPP_* environment variables.

Only the outer layers (services, web, cli, batch) read settings; the pure core never does.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./openqpp.db"


class Settings(BaseSettings):
    """Configuration for one openqpp process."""

    model_config = SettingsConfigDict(env_prefix="OPENQPP_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite by default, PostgreSQL in production.",
    )
    data_dir: Path = Field(
        default=Path(".data"),
        description="Where `openqpp data install` puts the npm packs it verifies.",
    )
    measures_data: str = Field(
        default="",
        description="Extra measures data roots (qpp-measures-data layout), os.pathsep-separated.",
    )
    db_pool_size: int = Field(
        default=4,
        ge=1,
        le=1000,
        description="Connections each process keeps open (a SQLite file too); the server also "
        "runs at most this many requests' database work at once per process (its thread pool), "
        "so requests wait for a thread, not for a connection opened and closed each time. Few "
        "threads per process contend less for the GIL (bench/README.md: 4 answered 15-20% more "
        "NPI lookups than 10 on two cores); scale with worker processes.",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="Extra connections beyond the pool (closed when returned), for work that "
        "needs a second connection while holding one.",
    )
    db_pool_timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds to wait for a pooled connection."
    )
    db_pool_recycle: int = Field(
        default=1800,
        ge=-1,
        description="PostgreSQL: reconnect connections older than this many seconds (-1: never).",
    )
    db_pool_pre_ping: bool = Field(
        default=True,
        description="PostgreSQL: check a pooled connection before using it (its socket each "
        "time, a ping after 10 s unused), so a restarted database fails no request.",
    )
    max_request_head_bytes: int = Field(
        default=65_536,
        ge=8_192,
        le=16_777_216,
        description="Largest request line and headers `openqpp serve` takes (bytes); a larger "
        "head is answered 431 OQ-REQ-431 before the application reads it.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Reverse proxies (comma-separated IPs or networks, `*` for any) whose "
        "X-Forwarded-Proto/-For headers are believed: uvicorn's --forwarded-allow-ips, and HSTS.",
    )
    demo: bool = Field(default=False, description="Demo mode: demo users and their passwords.")
    instance_name: str = Field(
        default="",
        max_length=64,
        description="A name for this instance (e.g. host:port), shown by /healthz so an operator "
        "or a test can tell which instance behind a proxy answered; empty: not shown.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_json: bool = Field(default=True, description="Structured JSON log lines.")
    clock: str = Field(
        default="",
        description="Pin the clock the election rules and deadlines use to one instant "
        "(ISO 8601 with a UTC offset, e.g. 2023-03-19T20:00:00-04:00); empty: the real clock. "
        "For demos and tests of a live server only.",
    )
    max_request_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest request body the Submissions API (and file uploads) accept; a "
        "larger one is refused with 413 before it is read further.",
    )
    rate_limit_per_second: float = Field(
        default=25.0,
        gt=0,
        description="Sustained API requests per second allowed per token or user (CMS: 25).",
    )
    rate_limit_burst: int = Field(
        default=40,
        ge=1,
        description="Requests a token or user may make at once before the sustained rate "
        "applies (CMS: 40); beyond it the API answers 429 with Retry-After.",
    )
    smtp_host: str = Field(default="", description="SMTP server for e-mail; empty: no e-mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="openqpp@localhost", description="The From address.")
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Connect with implicit TLS (port 465).")
    smtp_timeout: float = Field(default=10.0, gt=0, le=120)
    upload_max_file_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="The largest file a registry file upload accepts, in bytes (each file).",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres(cls, value: str) -> str:
        # `postgresql://` alone makes SQLAlchemy look for psycopg2; we ship psycopg 3.
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("clock")
    @classmethod
    def _valid_clock(cls, value: str) -> str:
        text = value.strip()
        if text:
            pinned_instant(text)
        return text

    def now(self) -> dt.datetime:
        """The time the election rules and deadlines use: OPENQPP_CLOCK when set, else now."""
        if self.clock:
            return pinned_instant(self.clock)
        return dt.datetime.now(dt.UTC)

    @property
    def pool_options(self) -> dict[str, object]:
        """SQLAlchemy connection pool options for a server database (a SQLite file takes the
        sizes and the timeout; :func:`openqpp.services.database.engine_options`)."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
            "pool_recycle": self.db_pool_recycle,
            "pool_pre_ping": self.db_pool_pre_ping,
        }

    @property
    def clock_pinned(self) -> bool:
        return bool(self.clock)

    @property
    def measures_roots(self) -> list[Path]:
        """Measures data roots, in search order: the installed npm pack first, then extras."""
        roots = [self.data_dir / "qpp-measures-data"]
        roots += [Path(p) for p in self.measures_data.split(os.pathsep) if p.strip()]
        return roots

    @property
    def static_vendor_dir(self) -> Path:
        return Path(__file__).parent / "web" / "static" / "vendor"

    @property
    def tools_dir(self) -> Path:
        return self.data_dir / "tools"


def pinned_instant(text: str) -> dt.datetime:
    """OPENQPP_CLOCK's instant; a value without a UTC offset is refused (ambiguous)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"OPENQPP_CLOCK {text!r} is not an ISO 8601 date and time; write it like "
            "2023-03-19T20:00:00-04:00."
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"OPENQPP_CLOCK {text!r} has no UTC offset; add one (e.g. -04:00 or Z).")
    return moment.astimezone(dt.UTC)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
