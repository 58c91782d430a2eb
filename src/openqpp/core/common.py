"""Domain value types shared by every domain: identifiers, years and money.

Each constructor validates its input and raises :class:`InvalidValue` with a stable code and a
message that says how to fix the value.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from openqpp.core.errors import InvalidValue

FIRST_MIPS_YEAR: Final = 2017  # year-literal: MACRA's first MIPS performance year, not a rule

NPI_PREFIX: Final = "80840"
"""Prefix added before the Luhn check for NPIs (ISO 7812 health-industry issuer prefix)."""


def _digits_only(raw: object) -> str:
    return str(raw).strip()


def _luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def npi_check_digit(first_nine: str) -> int:
    """The check digit that completes a 9-digit NPI stem (Luhn over the 80840 prefix)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise InvalidValue(
            f"NPI stem {first_nine!r} is not 9 digits.",
            fix="Give the first nine digits of the NPI.",
            code="OQ-NPI-001",
        )
    for check in range(10):
        if _luhn_valid(NPI_PREFIX + first_nine + str(check)):
            return check
    raise AssertionError("unreachable: one Luhn check digit always exists")  # pragma: no cover


class Npi(str):
    """A National Provider Identifier: 10 digits, the last a Luhn check digit over 80840."""

    __slots__ = ()

    def __new__(cls, raw: object) -> Npi:
        value = _digits_only(raw)
        if len(value) != 10 or not value.isdigit():
            raise InvalidValue(
                f"NPI {value!r} is not 10 digits.",
                fix="An NPI has exactly 10 digits (no spaces or dashes); check it in NPPES.",
                code="OQ-NPI-001",
            )
        if not _luhn_valid(NPI_PREFIX + value):
            raise InvalidValue(
                f"NPI {value} fails its check digit.",
                fix="The last digit of an NPI is a check digit; a digit was probably mistyped. "
                "Check the NPI in NPPES.",
                code="OQ-NPI-002",
            )
        return super().__new__(cls, value)


class Tin(str):
    """A Taxpayer Identification Number (EIN or SSN used as TIN): 9 digits."""

    __slots__ = ()

    def __new__(cls, raw: object) -> Tin:
        value = _digits_only(raw).replace("-", "")
        if len(value) != 9 or not value.isdigit():
            raise InvalidValue(
                f"TIN {_digits_only(raw)!r} is not 9 digits.",
                fix="A TIN has exactly 9 digits; one dash after the 2nd digit is allowed "
                "(12-3456789).",
                code="OQ-TIN-001",
            )
        return super().__new__(cls, value)

    @property
    def masked(self) -> str:
        """The TIN as shown to people not entitled to see it in full: only the last four digits."""
        return "*****" + self[-4:]


class ApmEntityId(str):
    """An APM entity identifier as CMS issues it (letters, digits, dashes; 1-20 characters)."""

    __slots__ = ()

    def __new__(cls, raw: object) -> ApmEntityId:
        value = _digits_only(raw).upper()
        if not (1 <= len(value) <= 20) or not all(c.isalnum() or c == "-" for c in value):
            raise InvalidValue(
                f"APM entity id {_digits_only(raw)!r} is not valid.",
                fix="Use the APM entity id from the APM participation list: 1 to 20 letters, "
                "digits or dashes (for example A1234 or V123).",
                code="OQ-APM-001",
            )
        return super().__new__(cls, value)


class PerformanceYear(int):
    """A MIPS performance year. Which years openqpp supports is policy's business."""

    __slots__ = ()

    def __new__(cls, raw: object) -> PerformanceYear:
        try:
            value = int(str(raw).strip())
        except ValueError:
            value = -1
        if not FIRST_MIPS_YEAR <= value <= FIRST_MIPS_YEAR + 99:
            raise InvalidValue(
                f"Performance year {raw!r} is not a year MIPS has.",
                fix="Give a four-digit performance year from 2017 on, for example 2022.",
                code="OQ-YEAR-001",
            )
        return super().__new__(cls, value)

    @property
    def payment_year(self) -> int:
        """The MIPS payment year: two years after the performance year."""
        return int(self) + 2


CENT: Final = Decimal("0.01")


def money(raw: object) -> Decimal:
    """An amount in US dollars as an exact Decimal, never a float."""
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(str(raw).strip().replace(",", "").lstrip("$"))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidValue(
            f"Amount {raw!r} is not a number of dollars.",
            fix="Give a plain decimal amount such as 90300 or 90300.00 (no letters).",
            code="OQ-MONEY-001",
        )
    return value
