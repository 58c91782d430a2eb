"""Earlier implementation guides, and the reference converter's documented quirks, on real
files: each test starts from a shared reference file and changes what it needs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from openqpp.intake.qrda3 import convert
from openqpp.measures import MeasuresYear

CATEGORY_2020 = b'root="2.16.840.1.113883.10.20.27.2.1" extension="2020-12-01"'
CATEGORY_2017 = b'root="2.16.840.1.113883.10.20.27.2.1" extension="2017-06-01"'
UUID_FIELDS = (
    "initial_population_uuid",
    "denominator_uuid",
    "numerator_uuid",
    "denominator_exclusion_uuid",
    "denominator_exception_uuid",
)


def _regress(data: bytes, *, guide: str, year: int, old_year: str = "2025") -> bytes:
    """The file as its vendor would have written it for an earlier guide and year."""
    data = data.replace(b'extension="2024-12-01"', f'extension="{guide}"'.encode())
    data = data.replace(CATEGORY_2020, CATEGORY_2017)
    return re.sub(rb'value="' + old_year.encode(), f'value="{year}'.encode(), data)


def _swap_ecqms(data: bytes, new: MeasuresYear, old: MeasuresYear, ids: list[str]) -> bytes:
    """Replace each eCQM's GUID and population UUIDs by the ones of another year."""
    for measure_id in ids:
        before, after = old.quality(measure_id), new.quality(measure_id)
        assert before is not None
        assert after is not None
        pairs = [(before.e_measure_uuid, after.e_measure_uuid)]
        for a, b in zip(before.strata, after.strata, strict=True):
            pairs += [
                (getattr(a.e_measure_uuids, f), getattr(b.e_measure_uuids, f)) for f in UUID_FIELDS
            ]
        for old_id, new_id in pairs:
            if old_id and new_id:
                data = re.sub(re.escape(old_id).encode(), new_id.encode(), data, flags=re.I)
    return data


def test_a_2019_file_made_from_the_current_sample_converts(
    reference_dir: Path, measures_year: Callable[[int], MeasuresYear]
) -> None:
    source = reference_dir / "valid-QRDA-III-latest.xml"
    data = _regress(source.read_bytes(), guide="2018-05-01", year=2019)
    data = _swap_ecqms(data, measures_year(2019), measures_year(2025), ["236", "001"])
    result = convert(data, source="valid-2019.xml", measures_for=measures_year)
    assert result.ok, [(p.code, p.message) for p in result.problems]
    assert result.guide is not None
    assert result.guide.extension == "2018-05-01"
    expected = json.loads(
        (reference_dir / "valid-QRDA-III-latest.expected.qpp.json")
        .read_text()
        .replace("2025", "2019")
    )
    assert result.submission is not None
    assert result.submission.to_qpp_json() == expected


def test_a_2022_file_made_from_the_abridged_sample_converts(
    reference_dir: Path, measures_year: Callable[[int], MeasuresYear]
) -> None:
    source = reference_dir / "valid-QRDA-III-abridged.xml"
    data = _regress(source.read_bytes(), guide="2021-07-01", year=2022, old_year="2018")
    result = convert(data, source="abridged-2022.xml", measures_for=measures_year)
    assert result.ok, [(p.code, p.message) for p in result.problems]
    expected = json.loads(
        (reference_dir / "valid-QRDA-III-abridged.expected.qpp.json")
        .read_text()
        .replace("2018", "2022")
    )
    assert result.submission is not None
    assert result.submission.to_qpp_json() == expected
    assert result.measures_year == 2022


def test_the_current_guide_still_refuses_an_earlier_guide_file_from_an_unknown_year(
    reference_dir: Path, measures_year: Callable[[int], MeasuresYear]
) -> None:
    data = (reference_dir / "valid-QRDA-III.xml").read_bytes()  # 2017-07-01: PY2018
    result = convert(data, source="valid-QRDA-III.xml", measures_for=measures_year)
    assert [p.number for p in result.problems] == [5]


def test_an_app_file_with_an_unknown_ecqm_keeps_its_error(
    reference_dir: Path, measures_year: Callable[[int], MeasuresYear]
) -> None:
    """Quirk 1: the reference answers 201 with `measurementSets` missing; openqpp reports 6."""
    data = (reference_dir / "App1-ApmEntity-Qrda-III.xml").read_bytes()
    guid = measures_year(2025).quality("134")
    assert guid is not None
    assert guid.e_measure_uuid is not None
    edited = re.sub(
        re.escape(guid.e_measure_uuid).encode(),
        b"00000000-0000-0000-0000-00000000dead",
        data,
        flags=re.I,
    )
    result = convert(edited, source="app1-unknown.xml", measures_for=measures_year)
    assert [p.number for p in result.problems] == [6]
    assert result.problems[0].title == "Quality Measure 00000000-0000-0000-0000-00000000dead"


def test_a_negative_performance_not_met_is_refused(
    reference_dir: Path, measures_year: Callable[[int], MeasuresYear]
) -> None:
    """Quirk 4: NUMER 950 with DENOM 1000 and DENEXCEP 100 would give performanceNotMet -50."""
    data = (reference_dir / "Mvp_Mips-APM-Sample.xml").read_bytes()
    result = convert(data, source="mvp.xml", measures_for=measures_year)
    assert result.ok
    numerator = re.search(rb'code="NUMER".{0,1500}?<value xsi:type="INT" value="800"', data, re.S)
    assert numerator is not None
    edited = data[: numerator.end() - 4] + b'950"' + data[numerator.end() :]
    result = convert(edited, source="mvp-negative.xml", measures_for=measures_year)
    assert [(p.code, p.number) for p in result.problems] == [("OQ-QRDA-002", 1002)]
    assert "performanceNotMet -50" in result.problems[0].message


def test_measure_370_fills_strata_without_uuids_with_zeros(
    measures_year: Callable[[int], MeasuresYear],
) -> None:
    """The converter's single-to-multi measure: strata lacking UUIDs come out as zeros."""
    from tests.support.qrda3 import Ecqm, populations_for, qrda3_document

    year = measures_year(2025)
    measure = year.quality("370")
    assert measure is not None
    assert measure.e_measure_uuid is not None
    with_uuids = [s for s in measure.strata if s.e_measure_uuids is not None]
    assert len(with_uuids) < len(measure.strata)
    populations = populations_for(with_uuids[0].e_measure_uuids, met=30, denominator=50)
    data = qrda3_document(quality=[Ecqm(measure.e_measure_uuid, populations)])
    result = convert(data, source="370.xml", measures_for=measures_year)
    assert result.ok, [(p.code, p.message) for p in result.problems]
    assert result.submission is not None
    value = result.submission.to_qpp_json()["measurementSets"][0]["measurements"][0]["value"]  # type: ignore[index]
    strata = {s["stratum"]: s for s in value["strata"]}
    assert strata[with_uuids[0].name]["performanceMet"] == 30
    zero = next(s for s in measure.strata if s.e_measure_uuids is None)
    assert strata[zero.name]["eligiblePopulation"] == 0
    assert strata[zero.name]["performanceMet"] == 0
