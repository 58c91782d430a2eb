"""The reference converter parses numbers and dates with Java; these ports must agree."""

from __future__ import annotations

import pytest

from openqpp.intake.qrda3.rules import java_float, java_int, parse_date


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("+5", 5),
        ("-12", -12),
        ("007", 7),
        ("2147483647", 2**31 - 1),
        ("-2147483648", -(2**31)),
    ],
)
def test_java_int_accepts_what_integer_parse_int_accepts(text: str, value: int) -> None:
    assert java_int(text) == value


@pytest.mark.parametrize("text", [None, "", " 5", "5 ", "1.0", "Bob", "2147483648", "1e3"])
def test_java_int_refuses_what_integer_parse_int_refuses(text: str | None) -> None:
    with pytest.raises(ValueError, match="not a Java int"):
        java_int(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.75", 0.75), (" 1 ", 1.0), (".5", 0.5), ("1e-1", 0.1), ("0.5f", 0.5), ("1D", 1.0)],
)
def test_java_float_accepts_what_float_parse_float_accepts(text: str, value: float) -> None:
    assert java_float(text) == pytest.approx(value)


@pytest.mark.parametrize("text", [None, "", "abc", "1,5", "0x"])
def test_java_float_refuses_what_float_parse_float_refuses(text: str | None) -> None:
    with pytest.raises(ValueError, match="not a Java float"):
        java_float(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20250101", (2025, 1, 1)),
        ("2025-01-01", (2025, 1, 1)),
        ("2025/02/26T01:45:23", (2025, 2, 26)),
        ("20250101120000", (2025, 1, 1)),
        ("20250230", (2025, 2, 28)),  # Java's SMART resolver moves day 30 to the month's end
        ("20240230", (2024, 2, 29)),
    ],
)
def test_dates_parse_as_the_reference_parses_them(text: str, value: tuple[int, int, int]) -> None:
    assert parse_date(text) == value


@pytest.mark.parametrize(
    "text", [None, "", "01/01/2024", "2025011", "20251301", "20250132", "00000101"]
)
def test_dates_the_reference_refuses_are_refused(text: str | None) -> None:
    with pytest.raises(ValueError, match="not a yyyyMMdd date"):
        parse_date(text)
