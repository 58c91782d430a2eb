"""openqpp: an open implementation of the QPP MIPS Eligibility & Reporting system."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("openqpp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
