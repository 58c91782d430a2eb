"""The Statement of Truth every person agrees to when signing in (2019 opt-in election guide,
'Sign in to QPP'), and a short fingerprint recorded with each agreement."""

from __future__ import annotations

import hashlib
from typing import Final

STATEMENT_OF_TRUTH: Final = (
    "I certify to the best of my knowledge that all of the information that will be submitted "
    "will be true, accurate, and complete. If I become aware that any submitted information is "
    "not true, accurate, and complete, I will correct such information promptly. I understand "
    "that the knowing omission, misrepresentation, or falsification of any submitted information "
    "may be punished by criminal, civil, or administrative penalties, including fines, civil "
    "damages, and/or imprisonment."
)

STATEMENT_OF_TRUTH_VERSION: Final = hashlib.sha256(STATEMENT_OF_TRUTH.encode()).hexdigest()[:12]
"""Recorded with every agreement, so a changed wording is visible in the records."""
