"""One test per validation rule, named after the rule (`test_<rule name>...`)."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

from tests.support.submissions import YEAR, a_set, a_submission, make_year

from openqpp.core.errors import Finding, Location
from openqpp.core.submissions import (
    RULES,
    Category,
    EntityType,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    StratumPerformance,
    SubmissionMethod,
    validate_submission,
)
from openqpp.measures import MeasuresYear
from openqpp.policy import Policy

EHR = SubmissionMethod.ELECTRONIC_HEALTH_RECORD
CEHRT = "0015C1235689784"


def single(
    met: int, population: int, not_met: int | None = None, **extra: int
) -> SinglePerformanceRate:
    return SinglePerformanceRate(
        is_end_to_end_reported=False,
        counts=PerformanceCounts(
            performance_met=met,
            eligible_population=population,
            performance_not_met=not_met,
            eligible_population_exclusion=extra.get("exclusion"),
            eligible_population_exception=extra.get("exception"),
        ),
    )


def run(submission: object, measures: MeasuresYear | None, policy: Policy | None) -> list[Finding]:
    return list(validate_submission(submission, measures=measures, policy=policy).findings)  # type: ignore[arg-type]


def with_code(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


# --------------------------------------------------------------------------- engine


def test_every_rule_has_a_test_named_after_it() -> None:
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_")}
    untested = [r.name for r in RULES if not any(t.startswith(f"test_{r.name}") for t in tests)]
    assert not untested


def test_rule_codes_are_stable_and_unique() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(code.startswith("OQ-SUB-") for code in codes)


def test_a_clean_submission_has_no_findings(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.QUALITY, ("001", single(80, 100, 20)), method=EHR, cehrt=CEHRT),
        a_set(Category.IA, ("IA_EPA_1", True)),
        a_set(Category.PI, ("PI_HIE_1", Proportion(5, 10)), method=EHR, cehrt=CEHRT),
    )
    assert run(submission, measures, policy) == []


def test_findings_accumulate_instead_of_stopping_at_the_first(
    measures: MeasuresYear, policy: Policy
) -> None:
    submission = a_submission(
        a_set(Category.QUALITY, ("001", single(120, 100, -20)), ("NOPE", True)),
        tin="12",
        npi="1234567890",
    )
    codes = {f.code for f in run(submission, measures, policy)}
    assert {"OQ-SUB-011", "OQ-SUB-012", "OQ-SUB-051", "OQ-SUB-060", "OQ-SUB-062"} <= codes


def test_locate_turns_json_paths_into_source_locations(
    measures: MeasuresYear, policy: Policy
) -> None:
    submission = a_submission(a_set(Category.IA, ("IA_NOPE", True)))
    report = validate_submission(
        submission,
        measures=measures,
        policy=policy,
        locate=lambda path: Location(path=path, line=7, column=3, xpath="/x"),
    )
    (found,) = report.errors
    assert found.location == Location(
        path="$.measurementSets[0].measurements[0].measureId", line=7, column=3, xpath="/x"
    )
    assert found.measure_id == "IA_NOPE"


# --------------------------------------------------------------------------- year, data


def test_performance_year_has_policy(measures: MeasuresYear) -> None:
    findings = run(a_submission(year=2018), measures, None)
    assert [f.location.path for f in with_code(findings, "OQ-SUB-001")] == ["$.performanceYear"]
    assert "2019-2025" in with_code(findings, "OQ-SUB-001")[0].message


def test_measures_data_available(policy: Policy) -> None:
    submission = a_submission(a_set(Category.IA, ("IA_EPA_1", True)))
    (found,) = with_code(run(submission, None, policy), "OQ-SUB-002")
    assert "openqpp data install" in found.message


# --------------------------------------------------------------------------- entity


def test_entity_identifiers_match_entity_type(measures: MeasuresYear, policy: Policy) -> None:
    cases = {
        EntityType.INDIVIDUAL: ({"npi": None}, ["$.nationalProviderIdentifier"]),
        EntityType.GROUP: ({"npi": "1234567893"}, ["$.nationalProviderIdentifier"]),
        EntityType.APM: (
            {"npi": None, "entity_id": None},
            ["$.entityId", "$.taxpayerIdentificationNumber"],
        ),
        EntityType.SUBGROUP: ({"npi": None, "tin": None, "entity_id": None}, ["$.entityId"]),
    }
    for entity, (changes, paths) in cases.items():
        findings = with_code(
            run(a_submission(entity=entity, **changes), measures, policy), "OQ-SUB-010"
        )
        assert sorted(f.location.path or "" for f in findings if f.is_error) == sorted(paths), (
            entity
        )


def test_entity_identifiers_match_entity_type_warns_on_a_virtual_group_tin(
    measures: MeasuresYear, policy: Policy
) -> None:
    submission = a_submission(entity=EntityType.VIRTUAL_GROUP, npi=None, entity_id="VG-1")
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-010")
    assert found.severity == "warning"


def test_tin_is_well_formed(measures: MeasuresYear, policy: Policy) -> None:
    for bad in ("12345678", "12-3456789", "12345678X"):
        (found,) = with_code(run(a_submission(tin=bad), measures, policy), "OQ-SUB-011")
        assert found.location.path == "$.taxpayerIdentificationNumber"
    assert not with_code(run(a_submission(tin="000123456"), measures, policy), "OQ-SUB-011")


def test_npi_is_well_formed(measures: MeasuresYear, policy: Policy) -> None:
    (found,) = with_code(run(a_submission(npi="1234567890"), measures, policy), "OQ-SUB-012")
    assert "check digit" in found.message
    (found,) = with_code(run(a_submission(npi="123"), measures, policy), "OQ-SUB-012")
    assert "10 digits" in found.message


def test_apm_entity_id_is_well_formed(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(entity=EntityType.APM, tin=None, npi=None, entity_id="A 1!")
    assert with_code(run(submission, measures, policy), "OQ-SUB-013")
    submission = a_submission(entity=EntityType.APM, tin=None, npi=None, entity_id="A1234")
    assert not with_code(run(submission, measures, policy), "OQ-SUB-013")


# --------------------------------------------------------------------------- sets, programs


def test_measurement_sets_are_unique(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.IA, ("IA_EPA_1", True)), a_set(Category.IA, ("IA_EPA_1", True))
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-020")
    assert found.location.path == "$.measurementSets[1]"


def test_program_name_is_known_for_year(measures: MeasuresYear, policy: Policy) -> None:
    for program, expected in (("G0053", 0), ("app1", 0), ("M9999", 1), ("appPlus", 0)):
        submission = a_submission(a_set(Category.IA, ("IA_EPA_1", True), program=program))
        assert len(with_code(run(submission, measures, policy), "OQ-SUB-021")) == expected, program


def test_program_name_is_known_for_year_warns_when_the_data_cannot_tell(policy: Policy) -> None:
    submission = a_submission(a_set(Category.IA, ("IA_EPA_1", True), program="app1"))
    (found,) = with_code(run(submission, make_year(with_programs=False), policy), "OQ-SUB-021")
    assert found.severity == "warning"


def test_subgroup_reports_only_mvps(measures: MeasuresYear, policy: Policy) -> None:
    kwargs = {"entity": EntityType.SUBGROUP, "tin": None, "npi": None, "entity_id": "SG-00000001"}
    mips = a_submission(a_set(Category.IA, ("IA_EPA_1", True)), **kwargs)  # type: ignore[arg-type]
    mvp = a_submission(a_set(Category.IA, ("IA_EPA_1", True), program="G0053"), **kwargs)  # type: ignore[arg-type]
    assert with_code(run(mips, measures, policy), "OQ-SUB-022")
    assert not with_code(run(mvp, measures, policy), "OQ-SUB-022")


def test_app_not_for_virtual_groups(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.IA, ("IA_EPA_1", True), program="app1"),
        entity=EntityType.VIRTUAL_GROUP,
        tin=None,
        npi=None,
        entity_id="VG-1",
    )
    assert with_code(run(submission, measures, policy), "OQ-SUB-023")


def test_pi_not_reported_by_apm_entities_or_subgroups(
    measures: MeasuresYear, policy: Policy
) -> None:
    submission = a_submission(
        a_set(Category.PI, ("PI_HIE_1", Proportion(1, 2)), cehrt=CEHRT),
        entity=EntityType.APM,
        tin=None,
        npi=None,
        entity_id="A1234",
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-024")
    assert found.location.path == "$.measurementSets[0]"


def test_cost_is_calculated_by_cms(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.COST, method=SubmissionMethod.ADMINISTRATIVE_CLAIMS))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-025")
    assert found.severity == "warning"


# --------------------------------------------------------------------------- periods


def test_performance_period_is_present(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.IA, ("IA_EPA_1", True), start=None, end=None))
    paths = [f.location.path for f in with_code(run(submission, measures, policy), "OQ-SUB-030")]
    assert paths == ["$.measurementSets[0].performanceStart", "$.measurementSets[0].performanceEnd"]


def test_performance_period_is_ordered(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.IA, ("IA_EPA_1", True), start=dt.date(YEAR, 6, 1), end=dt.date(YEAR, 1, 1))
    )
    assert with_code(run(submission, measures, policy), "OQ-SUB-031")


def test_performance_period_inside_year(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.IA, ("IA_EPA_1", True), start=dt.date(YEAR - 1, 12, 1))
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-032")
    assert found.location.path == "$.measurementSets[0].performanceStart"


def test_performance_period_long_enough(measures: MeasuresYear, policy: Policy) -> None:
    minimum = policy.scoring.pi.performance_period_days
    start = dt.date(YEAR, 1, 1)
    short = a_set(
        Category.PI,
        ("PI_HIE_1", Proportion(1, 2)),
        cehrt=CEHRT,
        start=start,
        end=start + dt.timedelta(days=minimum - 2),
    )
    enough = a_set(
        Category.PI,
        ("PI_HIE_1", Proportion(1, 2)),
        cehrt=CEHRT,
        method=EHR,
        start=start,
        end=start + dt.timedelta(days=minimum - 1),
    )
    (found,) = with_code(run(a_submission(short), measures, policy), "OQ-SUB-033")
    assert f"at least {minimum} consecutive days" in found.message
    assert not with_code(run(a_submission(enough), measures, policy), "OQ-SUB-033")


def test_performance_period_long_enough_for_ia_uses_the_ia_minimum(
    measures: MeasuresYear, policy: Policy
) -> None:
    minimum = policy.scoring.ia.performance_period_days
    start = dt.date(YEAR, 1, 1)
    short = a_set(
        Category.IA, ("IA_EPA_1", True), start=start, end=start + dt.timedelta(days=minimum - 2)
    )
    assert with_code(run(a_submission(short), measures, policy), "OQ-SUB-033")


# --------------------------------------------------------------------------- CEHRT


def test_cehrt_id_present(measures: MeasuresYear, policy: Policy) -> None:
    pi = a_submission(a_set(Category.PI, ("PI_HIE_1", Proportion(1, 2))))
    (found,) = with_code(run(pi, measures, policy), "OQ-SUB-040")
    assert found.is_error
    ecqm = a_submission(a_set(Category.QUALITY, ("001", single(1, 2, 1)), method=EHR))
    (found,) = with_code(run(ecqm, measures, policy), "OQ-SUB-040")
    assert found.severity == "warning"


def test_cehrt_id_matches_year_format(measures: MeasuresYear, policy: Policy) -> None:
    for cehrt, bad in (("0015C1235689784", False), ("0015E1235689784", True), ("abc", True)):
        submission = a_submission(a_set(Category.PI, ("PI_HIE_1", Proportion(1, 2)), cehrt=cehrt))
        assert bool(with_code(run(submission, measures, policy), "OQ-SUB-041")) is bad, cehrt


# --------------------------------------------------------------------------- measures


def test_measure_ids_unique_in_set(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.IA, ("IA_EPA_1", True), ("ia_epa_1", False)))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-050")
    assert found.location.path == "$.measurementSets[0].measurements[1].measureId"


def test_measure_exists_for_year(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.IA, ("PI_HIE_1", True), ("IA_NOPE", True)))
    findings = with_code(run(submission, measures, policy), "OQ-SUB-051")
    assert [f.measure_id for f in findings] == ["PI_HIE_1", "IA_NOPE"]
    assert "pi set" in findings[0].message


def test_measure_allows_submission_method(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(
            Category.QUALITY,
            ("305", MultiPerformanceRate(False, ())),
            method=SubmissionMethod.CLAIMS,
        )
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-052")
    assert "electronicHealthRecord" in found.message


def test_measure_allows_program(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.QUALITY, ("AAD6", single(1, 2, 1)), program="app1"))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-053")
    assert found.measure_id == "AAD6"


def test_measure_allows_entity_type(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.IA, ("IA_EPA_1", True)),
        entity=EntityType.APM,
        tin=None,
        npi=None,
        entity_id="A1",
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-054")
    assert found.severity == "warning"


def test_value_shape_matches_metric_type(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.QUALITY, ("001", True), ("321", single(1, 1, 0))),
        a_set(Category.PI, ("PI_HIE_1", True), cehrt=CEHRT),
    )
    findings = with_code(run(submission, measures, policy), "OQ-SUB-055")
    assert [f.measure_id for f in findings] == ["001", "321", "PI_HIE_1"]
    assert "calculated by CMS" in findings[1].message


# --------------------------------------------------------------------------- values


def test_counts_are_not_negative(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.QUALITY, ("001", single(950, 1000, -50, exception=100)))
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-060")
    assert found.location.path == "$.measurementSets[0].measurements[0].value.performanceNotMet"


def test_numerator_within_denominator(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.PI, ("PI_HIE_1", Proportion(11, 10)), cehrt=CEHRT))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-061")
    assert found.location.path == "$.measurementSets[0].measurements[0].value.numerator"


def test_performance_met_within_eligible_population(measures: MeasuresYear, policy: Policy) -> None:
    strata = MultiPerformanceRate(
        False,
        (
            StratumPerformance("14Days", PerformanceCounts(5, 4, 0)),
            StratumPerformance("34Days", PerformanceCounts(1, 4, 3)),
        ),
    )
    submission = a_submission(a_set(Category.QUALITY, ("305", strata), method=EHR, cehrt=CEHRT))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-062")
    assert (
        found.location.path == "$.measurementSets[0].measurements[0].value.strata[0].performanceMet"
    )


def test_population_arithmetic_adds_up(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.QUALITY, ("001", single(80, 100, 20, exclusion=5, exception=1)))
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-063")
    assert "= 106" in found.message


def test_data_completeness_meets_threshold(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(a_set(Category.QUALITY, ("001", single(10, 100, 10))))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-064")
    assert found.severity == "warning"
    assert "20.0%" in found.message


def test_performance_rate_in_range(measures: MeasuresYear, policy: Policy) -> None:
    qcdr_without_rate = a_submission(a_set(Category.QUALITY, ("AAD6", single(1, 2, 1))))
    assert with_code(run(qcdr_without_rate, measures, policy), "OQ-SUB-066")
    out_of_range = SinglePerformanceRate(
        False, PerformanceCounts(1, 2, 1), performance_rate=Decimal("101")
    )
    submission = a_submission(a_set(Category.QUALITY, ("AAD6", out_of_range)))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-066")
    assert found.location.path == "$.measurementSets[0].measurements[0].value.performanceRate"


def test_strata_match_measure(measures: MeasuresYear, policy: Policy) -> None:
    counts = PerformanceCounts(1, 2, 1)
    value = MultiPerformanceRate(
        True,
        (
            StratumPerformance("14days", counts),
            StratumPerformance("99Days", counts),
            StratumPerformance("14DAYS", counts),
        ),
    )
    submission = a_submission(a_set(Category.QUALITY, ("305", value), method=EHR, cehrt=CEHRT))
    messages = [f.message for f in with_code(run(submission, measures, policy), "OQ-SUB-070")]
    assert len(messages) == 2
    assert "99Days" in messages[0]
    assert "twice" in messages[1]


def test_strata_match_measure_requires_every_qcdr_stratum(
    measures: MeasuresYear, policy: Policy
) -> None:
    value = MultiPerformanceRate(
        True, (StratumPerformance("a", PerformanceCounts(1, 2, 1)),), performance_rate=Decimal(50)
    )
    submission = a_submission(a_set(Category.QUALITY, ("QCDR2", value)))
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-070")
    assert "missing: b" in found.message


def test_pi_measure_and_exclusion_not_both(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.PI, ("PI_HIE_1", Proportion(1, 2)), ("PI_LVOTC_1", True), cehrt=CEHRT)
    )
    (found,) = with_code(run(submission, measures, policy), "OQ-SUB-080")
    assert found.measure_id == "PI_HIE_1"


def test_pi_measure_and_substitute_not_both(measures: MeasuresYear, policy: Policy) -> None:
    submission = a_submission(
        a_set(Category.PI, ("PI_HIE_1", Proportion(1, 2)), ("PI_HIE_5", True), cehrt=CEHRT)
    )
    assert len(with_code(run(submission, measures, policy), "OQ-SUB-081")) == 1


def test_non_proportion_values_pass_without_range_rules(
    measures: MeasuresYear, policy: Policy
) -> None:
    value = NonProportion(False, Decimal("3"), Decimal("1000"), 80, Decimal(0), Decimal(30))
    submission = a_submission(a_set(Category.QUALITY, ("ACRAD15", value)))
    assert run(submission, measures, policy) == []
