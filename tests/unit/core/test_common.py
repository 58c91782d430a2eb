from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openqpp.core.common import ApmEntityId, Npi, PerformanceYear, Tin, money, npi_check_digit
from openqpp.core.errors import InvalidValue

# NPIs published as examples by CMS's NPI check-digit guidance and the NPPES registry.
VALID_NPIS = ["1234567893", "1245319599", "1003000126"]


@pytest.mark.parametrize("raw", VALID_NPIS)
def test_npi_with_a_valid_check_digit_is_accepted(raw: str) -> None:
    assert Npi(raw) == raw
    assert Npi(f" {raw} ") == raw


@pytest.mark.parametrize("raw", ["1234567890", "1245319590", "1003000127"])
def test_npi_that_fails_the_check_digit_is_refused_with_a_code(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        Npi(raw)
    assert caught.value.code == "OQ-NPI-002"
    assert "check digit" in caught.value.message
    assert "NPPES" in caught.value.fix


@pytest.mark.parametrize("raw", ["123456789", "12345678901", "12345a7893", "", "1234-56789"])
def test_npi_that_is_not_ten_digits_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        Npi(raw)
    assert caught.value.code == "OQ-NPI-001"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_npi_check_digit_completes_every_stem(stem: str) -> None:
    npi = stem + str(npi_check_digit(stem))
    assert Npi(npi) == npi
    wrong = stem + str((npi_check_digit(stem) + 1) % 10)
    with pytest.raises(InvalidValue):
        Npi(wrong)


def test_tin_is_nine_digits_and_accepts_the_ein_dash() -> None:
    assert Tin("12-3456789") == "123456789"
    assert Tin("123456789").masked == "*****6789"
    for bad in ["12345678", "1234567890", "12345678a"]:
        with pytest.raises(InvalidValue) as caught:
            Tin(bad)
        assert caught.value.code == "OQ-TIN-001"


def test_apm_entity_id_is_normalised_and_checked() -> None:
    assert ApmEntityId("a1234") == "A1234"
    with pytest.raises(InvalidValue):
        ApmEntityId("bad id!")
    with pytest.raises(InvalidValue):
        ApmEntityId("")


def test_performance_year_knows_its_payment_year() -> None:
    assert PerformanceYear("2019").payment_year == 2021
    with pytest.raises(InvalidValue) as caught:
        PerformanceYear("19")
    assert caught.value.code == "OQ-YEAR-001"


def test_money_is_an_exact_decimal() -> None:
    assert money("$90,300.00") == Decimal("90300.00")
    assert money(0.1) + money(0.2) == Decimal("0.3")
    for bad in ["ninety", "NaN", "Infinity", ""]:
        with pytest.raises(InvalidValue) as caught:
            money(bad)
        assert caught.value.code == "OQ-MONEY-001"
