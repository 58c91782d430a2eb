"""QRDA III conversion rules on small generated files (measures data: the test fixtures)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tests.support.qrda3 import (
    Attestation,
    Document,
    Ecqm,
    Period,
    PiProportion,
    Population,
    qrda3_document,
)

from openqpp.intake.qrda3 import MAX_REPORTED_ERRORS, Qrda3Conversion, convert, guides
from openqpp.measures import MeasuresCatalogue, MeasuresYear

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "measures-data"
GUID_001 = "2c928083-8907-ce68-0189-2bc5fa0d0739"  # measure 001 in the fixture 2025 data
IPOP, DENOM, NUMER = (
    "51D8CA9A-0000-0000-0000-000000000001",
    "EA65F958-0000-0000-0000-000000000002",
    "10C65EBE-0000-0000-0000-000000000003",
)


@pytest.fixture(scope="module")
def catalogue() -> MeasuresCatalogue:
    return MeasuresCatalogue([FIXTURES / "root-a", FIXTURES / "root-b"])


def _convert(catalogue: MeasuresCatalogue, data: bytes, **kwargs: object) -> Qrda3Conversion:
    return convert(data, source="test.xml", measures_for=catalogue.year, **kwargs)  # type: ignore[arg-type]


def _codes(result: Qrda3Conversion) -> Counter[int]:
    return Counter(p.number for p in result.problems)


def measure_001(numerator: int = 800, denominator: int = 1000) -> Ecqm:
    return Ecqm(
        GUID_001,
        (
            Population("IPOP", IPOP, 1000),
            Population("DENOM", DENOM, denominator),
            Population("NUMER", NUMER, numerator),
        ),
    )


def test_a_file_converts_into_the_converter_s_json(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(
        Document(
            quality=[measure_001()],
            pi=[PiProportion("PI_HIE_1", 5, 10)],
            ia=[Attestation("IA_AHE_1")],
        )
    )
    result = _convert(catalogue, data)
    assert result.ok, result.problems
    assert result.submission is not None
    document = result.submission.to_qpp_json()
    assert document["entityType"] == "individual"
    quality, pi, ia = document["measurementSets"]  # type: ignore[misc]
    assert quality["measurements"] == [
        {
            "measureId": "001",
            "value": {
                "isEndToEndReported": True,
                "performanceMet": 800,
                "performanceNotMet": 200,
                "eligiblePopulation": 1000,
            },
        }
    ]
    assert quality["cehrtId"] == pi["cehrtId"] == "0015C1235689784"
    assert "cehrtId" not in ia
    assert {s["source"] for s in (quality, pi, ia)} == {"qrda3"}


def test_an_unknown_guide_extension_is_code_5(catalogue: MeasuresCatalogue) -> None:
    result = _convert(catalogue, qrda3_document(guide="2017-07-01", ia=[Attestation("IA_EPA_1")]))
    assert _codes(result) == Counter({5: 1})
    assert result.error_report()["errors"][0]["details"][0]["location"] == {"path": ""}  # type: ignore[index]


@pytest.mark.parametrize("extension", sorted(guides()))
def test_every_guide_is_selected_by_its_template_extension(
    catalogue: MeasuresCatalogue, extension: str
) -> None:
    guide = guides()[extension]
    year = guide.performance_years[0]
    data = qrda3_document(
        guide=extension,
        year=year,
        category_extension=guide.category_report_extension,
        program="MIPS_GROUP",
        npi=None,
        pi=[PiProportion("PI_EP_1", 1, 2)],
        ia=[Attestation("IA_EPA_1")],
    )
    result = _convert(catalogue, data)
    assert result.ok, result.problems
    assert result.guide is guide
    assert result.submission is not None
    assert result.submission.performance_year == year
    assert result.measures_year == year


def test_the_2019_cms_improvement_activity_templates_are_read(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(
        guide="2018-05-01",
        year=2019,
        category_extension="2017-06-01",
        ia=[Attestation("IA_EPA_1")],
        ia_template="2.16.840.1.113883.3.249.20.2.1",
        ia_measure_template="2.16.840.1.113883.3.249.20.3.1",
    )
    result = _convert(catalogue, data)
    assert result.ok, result.problems
    assert result.submission is not None
    assert result.submission.to_qpp_json()["measurementSets"][0]["measurements"] == [  # type: ignore[index]
        {"measureId": "IA_EPA_1", "value": True}
    ]
    # The current guide does not know those templates.
    current = qrda3_document(
        ia=[Attestation("IA_EPA_1")],
        ia_template="2.16.840.1.113883.3.249.20.2.1",
        ia_measure_template="2.16.840.1.113883.3.249.20.3.1",
    )
    assert _codes(_convert(catalogue, current)) == Counter({23: 1})


def test_the_category_section_extension_follows_the_guide(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(
        guide="2021-07-01", year=2022, category_extension="2020-12-01", quality=[]
    )
    assert 95 in _codes(_convert(catalogue, data))


def test_program_names_follow_the_guide(catalogue: MeasuresCatalogue) -> None:
    app_plus = {"program": "APP_PLUS_INDIV", "ia": [Attestation("IA_AHE_1")]}
    result = _convert(catalogue, qrda3_document(**app_plus))  # type: ignore[arg-type]
    assert result.ok, result.problems
    assert result.submission is not None
    assert result.submission.measurement_sets[0].program_name == "appPlus"
    older = qrda3_document(guide="2022-12-01", year=2024, **app_plus)  # type: ignore[arg-type]
    assert _codes(_convert(catalogue, older)) == Counter({25: 1})


def test_an_app_file_with_an_unknown_ecqm_is_refused_not_emptied(
    catalogue: MeasuresCatalogue,
) -> None:
    """Reference quirk: it returns the file with `measurementSets` missing; we report 6."""
    unknown = Ecqm("00000000-0000-0000-0000-000000000000", measure_001().populations)
    data = qrda3_document(program="MIPS_APP1_INDIV", quality=[unknown])
    result = _convert(catalogue, data)
    assert _codes(result) == Counter({6: 1})
    assert result.submission is None


def test_a_negative_performance_not_met_is_refused(catalogue: MeasuresCatalogue) -> None:
    """Reference quirk: it emits `performanceNotMet: -100`; we refuse with OQ-QRDA-002."""
    result = _convert(catalogue, qrda3_document(quality=[measure_001(numerator=1100)]))
    (problem,) = result.problems
    assert (problem.code, problem.number, problem.measure_id) == ("OQ-QRDA-002", 1002, "001")
    assert "performanceNotMet -100" in problem.message
    assert problem.location.line is not None
    assert problem.title is not None
    assert problem.title.startswith(f"Quality Measure {GUID_001}")


def test_an_activity_without_an_id_is_refused_not_emitted(catalogue: MeasuresCatalogue) -> None:
    result = _convert(catalogue, qrda3_document(ia=[Attestation("")]))
    assert [p.code for p in result.problems] == ["OQ-QRDA-001"]


def test_a_virtual_group_needs_its_id(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(program="MIPS_VIRTUALGROUP", npi=None, ia=[Attestation("IA_AHE_1")])
    assert _codes(_convert(catalogue, data)) == Counter({78: 1})
    data = qrda3_document(
        program="MIPS_VIRTUALGROUP", npi=None, vg_id="VG-1", ia=[Attestation("IA_AHE_1")]
    )
    result = _convert(catalogue, data)
    assert result.submission is not None
    assert result.submission.to_qpp_json()["entityId"] == "VG-1"


def test_apm_entities_report_their_entity_id_and_mvp(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(
        program="MIPS_APMENTITY", apm_id="A1234", mvp="G0053", quality=[measure_001()]
    )
    result = _convert(catalogue, data)
    assert result.ok, result.problems
    assert result.submission is not None
    document = result.submission.to_qpp_json()
    assert document["entityId"] == "A1234"
    assert "taxpayerIdentificationNumber" not in document
    assert document["measurementSets"][0]["programName"] == "G0053"  # type: ignore[index]


def test_the_default_mode_stops_where_the_reference_stops(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(quality=[]).replace(b"2.16.840.1.113883.10.20.17.3.8", b"1.2.3")
    assert _codes(_convert(catalogue, data)) == Counter({32: 1})
    assert _codes(_convert(catalogue, data, exhaustive=True)) == Counter({32: 1, 81: 1})


def test_a_wrong_category_extension_is_reported_even_after_an_earlier_failure(
    catalogue: MeasuresCatalogue,
) -> None:
    """The reference's `valueIs` check does not stop at an earlier failure."""
    data = qrda3_document(quality=[], category_extension="1999-01-01").replace(
        b"2.16.840.1.113883.10.20.17.3.8", b"1.2.3"
    )
    assert _codes(_convert(catalogue, data)) == Counter({32: 1, 95: 1})


def test_more_than_100_errors_are_capped_as_the_reference_caps_them(
    catalogue: MeasuresCatalogue,
) -> None:
    activities = [Attestation(f"IA_{i}", answer="maybe") for i in range(MAX_REPORTED_ERRORS + 20)]
    result = _convert(catalogue, qrda3_document(ia=activities))
    assert len(result.problems) == MAX_REPORTED_ERRORS + 20  # every finding is kept ...
    details = result.error_report()["errors"][0]["details"]  # type: ignore[index]
    assert len(details) == MAX_REPORTED_ERRORS + 1  # ... the report shows 100 and code 82
    assert details[-1]["errorCode"] == 82
    assert "100 out of 120" in details[-1]["message"]


def test_two_measure_sections_are_reported_as_the_reference_does(
    catalogue: MeasuresCatalogue,
) -> None:
    data = qrda3_document(quality=[])
    start = data.index(b"    <component>\n      <section>")
    end = data.index(b"</component>", start) + len(b"</component>")
    doubled = data[:end] + data[start:end] + data[end:]
    # 27 (the converter's code for duplicate IA sections) and 81 for each empty section.
    assert _codes(_convert(catalogue, doubled)) == Counter({27: 1, 81: 2})


def test_locate_maps_converted_values_back_to_the_xml(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(
        pi=[PiProportion("PI_HIE_1", 5, 10)],
        periods={"pi": Period("20250101", "20250301")},
    )
    result = _convert(catalogue, data)
    assert result.ok
    where = result.locate("$.measurementSets[0].measurements[0].value.numerator")
    line = data[: data.index(b"2.16.840.1.113883.10.20.27.3.28")].count(b"\n") + 1
    assert where.line == line
    assert where.path == "$.measurementSets[0].measurements[0].value.numerator"
    assert where.xpath is not None
    assert where.xpath.endswith(
        "*[local-name() = 'organizer' and namespace-uri() = 'urn:hl7-org:v3']"
    )
    period = result.locate("$.measurementSets[0].performanceEnd")
    assert period.line == data[: data.index(b"2.16.840.1.113883.10.20.17.3.8")].count(b"\n") + 1


def test_a_stratum_without_uuids_fails_as_the_reference_does(
    catalogue: MeasuresCatalogue,
) -> None:
    """Fixture measure 009 has strata without eMeasureUuids: the reference throws (code 3)."""
    ecqm = Ecqm("2c928082-0000-0000-0000-000000000009", (Population("DENOM", "X", 1),))
    assert _codes(_convert(catalogue, qrda3_document(quality=[ecqm]))) == Counter({3: 1})


def test_the_measures_data_is_not_read_when_no_quality_measure_needs_it() -> None:
    def refuse(year: int) -> MeasuresYear:
        raise AssertionError(f"measures data for {year} was asked for")

    result = convert(
        qrda3_document(pi=[PiProportion("PI_EP_1", 1, 2)]), source="x.xml", measures_for=refuse
    )
    assert result.ok


def test_population_checks_report_counts_and_uuids(catalogue: MeasuresCatalogue) -> None:
    """MIPS eCQM checks: a population the measure does not have (14), a wrong UUID (59),
    a denominator above the initial population (13)."""
    extra = Ecqm(GUID_001, (*measure_001().populations, Population("DENEX", "X", 1)))
    result = _convert(catalogue, qrda3_document(quality=[extra]))
    assert _codes(result) == Counter({14: 1})
    assert "requires 0 DENEX(s) but there are 1" in result.problems[0].message
    wrong = Ecqm(
        GUID_001,
        (
            Population("IPOP", IPOP, 10),
            Population("DENOM", DENOM, 20),
            Population("NUMER", "99999999-0000-0000-0000-000000000000", 5),
        ),
    )
    result = _convert(catalogue, qrda3_document(quality=[wrong]))
    assert _codes(result) == Counter({59: 1, 13: 1})
    assert all(p.message.startswith("CT - ") for p in result.problems)


def test_subgroups_are_identified_by_their_subgroup_id(catalogue: MeasuresCatalogue) -> None:
    data = qrda3_document(
        program="MIPS_SUBGROUP",
        npi=None,
        subgroup_id="SG-00000001",
        mvp="G0053",
        ia=[Attestation("IA_AHE_1")],
    )
    result = _convert(catalogue, data)
    assert result.ok, result.problems
    assert result.submission is not None
    document = result.submission.to_qpp_json()
    assert document["entityType"] == "subgroup"
    assert document["entityId"] == "SG-00000001"
    assert "taxpayerIdentificationNumber" not in document
    assert document["measurementSets"][0]["programName"] == "G0053"  # type: ignore[index]


@pytest.mark.parametrize(
    ("rate", "codes"),
    [("0.8", {}), ("1.5", {33: 1}), ("", {72: 1}), ("abc", {33: 1})],
)
def test_performance_rates_are_checked_not_emitted(
    catalogue: MeasuresCatalogue, rate: str, codes: dict[int, int]
) -> None:
    ecqm = Ecqm(GUID_001, measure_001().populations, rates=((NUMER, rate),))
    result = _convert(catalogue, qrda3_document(quality=[ecqm]))
    assert _codes(result) == Counter(codes)
    if result.submission is not None:
        assert "performanceRate" not in json.dumps(result.submission.to_qpp_json())


def test_a_performance_rate_must_reference_a_numerator(catalogue: MeasuresCatalogue) -> None:
    ecqm = Ecqm(GUID_001, measure_001().populations, rates=(("NOT-A-NUMERATOR", "0.8"),))
    result = _convert(catalogue, qrda3_document(quality=[ecqm]))
    assert _codes(result) == Counter({59: 1})
    assert "performanceRateUuid" in result.problems[0].message
