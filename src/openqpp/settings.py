"""Runtime settings, read from OPENQPP_* environment variables.

Only the outer layers (services, web, cli, batch) read settings; the pure core never does.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
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
    demo: bool = Field(default=False, description="Demo mode: demo users and their passwords.")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_json: bool = Field(default=True, description="Structured JSON log lines.")

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres(cls, value: str) -> str:
        # `postgresql://` alone makes SQLAlchemy look for psycopg2; we ship psycopg 3.
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
