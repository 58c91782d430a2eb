"""Where the shared reference material sits beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared").resolve()
QRDA3_REFERENCE = SHARED / "reference" / "qrda3"
QPP_API_REFERENCE = SHARED / "reference" / "qpp-api"


def missing(reason: str) -> None:
    """Reference material or data is absent: fail under CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {reason}", pytrace=False)
    pytest.skip(f"not available here: {reason}")
