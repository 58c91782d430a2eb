"""Per-performance-year MIPS rules as data, with a citation for every value."""

from openqpp.policy.catalogue import SUPPORTED_YEARS, PolicyFileError
from openqpp.policy.loader import Policy, ResolvedParameter, UnsupportedPerformanceYear, load_policy

__all__ = [
    "SUPPORTED_YEARS",
    "Policy",
    "PolicyFileError",
    "ResolvedParameter",
    "UnsupportedPerformanceYear",
    "load_policy",
]
