"""The submission validation engine: every rule runs, every finding is kept.

A rule is a function named after what it checks (`numerator_within_denominator`), registered
with its stable code. It reads the submission, the performance year's measures data and the
year's policy from a `ValidationContext` and yields `Finding`s whose location is a JSONPath
into the QPP JSON form of the submission (`$.measurementSets[0].measurements[2].value`).
Intake adapters translate those paths into their own locations (line, column and XPath for
QRDA III) by passing `locate`.

Rules that need measures data or policy are skipped when the caller has none; the engine then
reports that once (`measures_data_available`, `performance_year_has_policy`) instead of
failing. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from openqpp.core.common import ApmEntityId, Npi
from openqpp.core.errors import Finding, InvalidValue, Location
from openqpp.core.submissions.model import (
    BASE_PROGRAMS,
    PROGRAM_APP,
    PROGRAM_APP_PLUS,
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    Submission,
    value_shape,
)
from openqpp.measures import Measure, MeasuresYear, PiMeasure, QualityMeasure
from openqpp.policy import SUPPORTED_YEARS, Policy

ERROR: Final = "error"
WARNING: Final = "warning"


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What the rules read: the submission, the year's measures data and policy."""

    submission: Submission
    measures: MeasuresYear | None
    policy: Policy | None


Rule = Callable[[ValidationContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class RuleInfo:
    code: str
    name: str
    check: Rule


RULES: list[RuleInfo] = []


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register a rule under its stable code; the function name is the rule's name."""

    def register(check: Rule) -> Rule:
        RULES.append(RuleInfo(code=code, name=check.__name__, check=check))
        return check

    return register


@dataclass(frozen=True, slots=True)
class ValidationReport:
    findings: tuple[Finding, ...] = field(default=())

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity != ERROR)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_submission(
    submission: Submission,
    *,
    measures: MeasuresYear | None,
    policy: Policy | None,
    locate: Callable[[str], Location] | None = None,
) -> ValidationReport:
    """Run every rule and return all findings, errors first in rule order."""
    context = ValidationContext(submission=submission, measures=measures, policy=policy)
    findings: list[Finding] = []
    for info in RULES:
        for found in info.check(context):
            findings.append(found)
    if locate is not None:
        findings = [_relocate(f, locate) for f in findings]
    return ValidationReport(findings=tuple(findings))


def _relocate(found: Finding, locate: Callable[[str], Location]) -> Finding:
    path = found.location.path
    if path is None:
        return found
    return Finding(
        code=found.code,
        message=found.message,
        severity=found.severity,
        location=locate(path),
        measure_id=found.measure_id,
    )


def _finding(
    code: str,
    message: str,
    path: str,
    *,
    severity: str = ERROR,
    measure_id: str | None = None,
) -> Finding:
    return Finding(
        code=code,
        message=message,
        severity=severity,
        location=Location(path=path),
        measure_id=measure_id,
    )


# --------------------------------------------------------------------------- helpers


def _set_path(index: int) -> str:
    return f"$.measurementSets[{index}]"


def _measurement_path(set_index: int, index: int) -> str:
    return f"{_set_path(set_index)}.measurements[{index}]"


def _sets(context: ValidationContext) -> Iterator[tuple[int, MeasurementSet]]:
    yield from enumerate(context.submission.measurement_sets)


def _measurements(
    context: ValidationContext,
) -> Iterator[tuple[int, MeasurementSet, int, Measurement]]:
    for set_index, measurement_set in _sets(context):
        for index, measurement in enumerate(measurement_set.measurements):
            yield set_index, measurement_set, index, measurement


def _lookup(measures: MeasuresYear, category: Category, measure_id: str) -> Measure | None:
    if category is Category.QUALITY:
        return measures.quality(measure_id)
    if category is Category.IA:
        return measures.ia(measure_id)
    if category is Category.PI:
        return measures.pi(measure_id)
    return measures.cost(measure_id)


def _known_measures(
    context: ValidationContext,
) -> Iterator[tuple[int, MeasurementSet, int, Measurement, Measure]]:
    """Measurements whose measure is in the year's data under the set's category."""
    if context.measures is None:
        return
    for set_index, measurement_set, index, measurement in _measurements(context):
        found = _lookup(context.measures, measurement_set.category, measurement.measure_id)
        if found is not None:
            yield set_index, measurement_set, index, measurement, found


def _unverified(policy: Policy, path: str) -> str:
    if policy.is_verified(path):
        return ""
    return f" (openqpp's value of this rule for {policy.year} is unverified: {path})"


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def _rate_cases(value: object, path: str) -> Iterator[tuple[PerformanceCounts, str, str | None]]:
    """The performance counts of a single or multi rate value, with their paths."""
    if isinstance(value, SinglePerformanceRate):
        yield value.counts, path, None
    elif isinstance(value, MultiPerformanceRate):
        for i, stratum in enumerate(value.strata):
            yield stratum.counts, f"{path}.strata[{i}]", stratum.stratum


# --------------------------------------------------------------------------- year, data


@rule("OQ-SUB-001")
def performance_year_has_policy(context: ValidationContext) -> Iterator[Finding]:
    if context.policy is None:
        year = context.submission.performance_year
        yield _finding(
            "OQ-SUB-001",
            f"Performance year {year} is not one openqpp has MIPS rules for "
            f"({SUPPORTED_YEARS[0]}-{SUPPORTED_YEARS[-1]}); the year-specific checks were "
            "skipped. Check `performanceYear` (or the reporting period dates the year comes "
            "from) and submit data for a supported year.",
            "$.performanceYear",
        )


@rule("OQ-SUB-002")
def measures_data_available(context: ValidationContext) -> Iterator[Finding]:
    if context.measures is None:
        year = context.submission.performance_year
        yield _finding(
            "OQ-SUB-002",
            f"No measures data is installed for performance year {year}, so measure IDs, "
            "submission methods and value shapes were not checked. Check the performance "
            "year; if it is right, install the year's qpp-measures-data (`openqpp data "
            "install`, or add a root to OPENQPP_MEASURES_DATA).",
            "$.performanceYear",
        )


# --------------------------------------------------------------------------- entity


_NEEDS: Final[dict[EntityType, tuple[bool, bool, bool]]] = {
    # (TIN, NPI, entityId) required
    EntityType.INDIVIDUAL: (True, True, False),
    EntityType.GROUP: (True, False, False),
    EntityType.APM: (False, False, True),
    EntityType.VIRTUAL_GROUP: (False, False, True),
    EntityType.SUBGROUP: (False, False, True),
}


@rule("OQ-SUB-010")
def entity_identifiers_match_entity_type(context: ValidationContext) -> Iterator[Finding]:
    """Individuals send TIN+NPI, groups a TIN, APM entities, virtual groups and subgroups an
    entityId (qpp-apis.md §2.2, Submission fields)."""
    submission = context.submission
    kind = submission.entity_type
    needs_tin, needs_npi, needs_id = _NEEDS[kind]
    code = "OQ-SUB-010"
    if needs_tin and not submission.tin:
        yield _finding(
            code,
            f"A {kind.value} submission needs `taxpayerIdentificationNumber`; add the 9-digit "
            "TIN the clinicians bill under.",
            "$.taxpayerIdentificationNumber",
        )
    if needs_npi and not submission.npi:
        yield _finding(
            code,
            "An individual submission needs `nationalProviderIdentifier`; add the clinician's "
            "10-digit NPI.",
            "$.nationalProviderIdentifier",
        )
    if needs_id and not submission.entity_id:
        yield _finding(
            code,
            f"A {kind.value} submission needs `entityId` (the APM entity, virtual group or "
            "subgroup ID); add it.",
            "$.entityId",
        )
    if not needs_npi and submission.npi:
        yield _finding(
            code,
            f"A {kind.value} submission must not carry an NPI: only individual (TIN/NPI) "
            "submissions do. Remove `nationalProviderIdentifier` or change `entityType` to "
            "individual.",
            "$.nationalProviderIdentifier",
        )
    if not needs_id and submission.entity_id:
        yield _finding(
            code,
            f"A {kind.value} submission is identified by its TIN"
            + ("/NPI" if kind is EntityType.INDIVIDUAL else "")
            + ", not by `entityId`; remove `entityId` or change `entityType`.",
            "$.entityId",
        )
    if submission.tin and kind in (EntityType.APM, EntityType.SUBGROUP):
        yield _finding(
            code,
            f"A {kind.value} submission is identified by its entityId; the TIN is not sent. "
            "Remove `taxpayerIdentificationNumber`.",
            "$.taxpayerIdentificationNumber",
        )
    if submission.tin and kind is EntityType.VIRTUAL_GROUP:
        yield _finding(
            code,
            "A virtual group is identified by its entityId; the TIN given is ignored.",
            "$.taxpayerIdentificationNumber",
            severity=WARNING,
        )


@rule("OQ-SUB-011")
def tin_is_well_formed(context: ValidationContext) -> Iterator[Finding]:
    tin = context.submission.tin
    if tin is not None and tin and not (len(tin) == 9 and tin.isascii() and tin.isdigit()):
        yield _finding(
            "OQ-SUB-011",
            f"TIN {tin!r} is not 9 digits. Write the TIN as exactly 9 digits, without dashes "
            "or spaces (e.g. 123456789).",
            "$.taxpayerIdentificationNumber",
        )


@rule("OQ-SUB-012")
def npi_is_well_formed(context: ValidationContext) -> Iterator[Finding]:
    npi = context.submission.npi
    if npi is None or not npi:
        return
    try:
        Npi(npi)
    except InvalidValue as exc:
        yield _finding("OQ-SUB-012", f"{exc.message} {exc.fix}", "$.nationalProviderIdentifier")


@rule("OQ-SUB-013")
def apm_entity_id_is_well_formed(context: ValidationContext) -> Iterator[Finding]:
    submission = context.submission
    if submission.entity_type is not EntityType.APM or not submission.entity_id:
        return
    try:
        ApmEntityId(submission.entity_id)
    except InvalidValue as exc:
        yield _finding("OQ-SUB-013", f"{exc.message} {exc.fix}", "$.entityId")


# --------------------------------------------------------------------------- sets, programs


@rule("OQ-SUB-020")
def measurement_sets_are_unique(context: ValidationContext) -> Iterator[Finding]:
    """A submission holds one set per (category, submission method, program)."""
    seen: dict[tuple[Category, str, str], int] = {}
    for index, measurement_set in _sets(context):
        key = (
            measurement_set.category,
            measurement_set.submission_method.value,
            measurement_set.program.casefold(),
        )
        if key in seen:
            yield _finding(
                "OQ-SUB-020",
                f"measurementSets[{index}] repeats measurementSets[{seen[key]}]: both are "
                f"{measurement_set.category.value} / {measurement_set.submission_method.value}"
                f" / {measurement_set.program}. Merge their measurements into one set.",
                _set_path(index),
            )
        else:
            seen[key] = index


def _known_programs(measures: MeasuresYear) -> tuple[set[str], bool]:
    """Program names (casefolded) the year's data knows, and whether the data says at all."""
    known: set[str] = set()
    said = False
    for measure in measures.iter_measures():
        if measure.allowed_programs is not None:
            said = True
            known.update(p.casefold() for p in measure.allowed_programs)
    known.update(m.mvp_id.casefold() for m in measures.mvps)
    return known, said


@rule("OQ-SUB-021")
def program_name_is_known_for_year(context: ValidationContext) -> Iterator[Finding]:
    if context.measures is None:
        return
    known, said = _known_programs(context.measures)
    year = context.submission.performance_year
    for index, measurement_set in _sets(context):
        program = measurement_set.program
        if program == "mips":
            continue
        path = f"{_set_path(index)}.programName"
        if not said:
            yield _finding(
                "OQ-SUB-021",
                f"programName {program!r} could not be checked: the {year} measures data does "
                "not list the programs its measures belong to.",
                path,
                severity=WARNING,
            )
        elif program.casefold() not in known:
            kind = "program" if program in BASE_PROGRAMS else "program or MVP ID"
            yield _finding(
                "OQ-SUB-021",
                f"programName {program!r} is not a {kind} of performance year {year}. Use mips, "
                "app1, appPlus (from the year they exist) or an MVP ID of the year "
                "(e.g. G0053).",
                path,
            )


@rule("OQ-SUB-022")
def subgroup_reports_only_mvps(context: ValidationContext) -> Iterator[Finding]:
    if context.submission.entity_type is not EntityType.SUBGROUP:
        return
    for index, measurement_set in _sets(context):
        if not measurement_set.is_mvp:
            yield _finding(
                "OQ-SUB-022",
                f"Subgroups report MVPs only, but this set's program is "
                f"{measurement_set.program!r}. Set `programName` to the MVP ID the subgroup "
                "registered for.",
                f"{_set_path(index)}.programName",
            )


@rule("OQ-SUB-023")
def app_not_for_virtual_groups(context: ValidationContext) -> Iterator[Finding]:
    if context.submission.entity_type is not EntityType.VIRTUAL_GROUP:
        return
    for index, measurement_set in _sets(context):
        if measurement_set.program in (PROGRAM_APP, PROGRAM_APP_PLUS):
            yield _finding(
                "OQ-SUB-023",
                f"Virtual groups cannot report the APM Performance Pathway "
                f"({measurement_set.program}); report under programName mips.",
                f"{_set_path(index)}.programName",
            )


@rule("OQ-SUB-024")
def pi_not_reported_by_apm_entities_or_subgroups(
    context: ValidationContext,
) -> Iterator[Finding]:
    """APM entity PI comes from its participants; a subgroup's from its affiliated group."""
    kind = context.submission.entity_type
    if kind not in (EntityType.APM, EntityType.SUBGROUP):
        return
    for index, measurement_set in _sets(context):
        if measurement_set.category is Category.PI:
            who = (
                "the APM's participant groups and clinicians"
                if kind is EntityType.APM
                else ("the subgroup's affiliated group")
            )
            yield _finding(
                "OQ-SUB-024",
                f"Promoting Interoperability is not reported at the {kind.value} level; it is "
                f"reported by {who}. Remove this set and submit PI for them.",
                _set_path(index),
            )


@rule("OQ-SUB-025")
def cost_is_calculated_by_cms(context: ValidationContext) -> Iterator[Finding]:
    for index, measurement_set in _sets(context):
        if measurement_set.category is Category.COST:
            yield _finding(
                "OQ-SUB-025",
                "CMS calculates cost measures from Medicare claims; a submitted cost set is not "
                "used for scoring. Remove it.",
                _set_path(index),
                severity=WARNING,
            )


# --------------------------------------------------------------------------- periods


@rule("OQ-SUB-030")
def performance_period_is_present(context: ValidationContext) -> Iterator[Finding]:
    for index, measurement_set in _sets(context):
        for key, value in (
            ("performanceStart", measurement_set.performance_start),
            ("performanceEnd", measurement_set.performance_end),
        ):
            if value is None:
                yield _finding(
                    "OQ-SUB-030",
                    f"The set has no `{key}`. Add the first/last day of the period the data "
                    "covers as YYYY-MM-DD.",
                    f"{_set_path(index)}.{key}",
                )


@rule("OQ-SUB-031")
def performance_period_is_ordered(context: ValidationContext) -> Iterator[Finding]:
    for index, measurement_set in _sets(context):
        start, end = measurement_set.performance_start, measurement_set.performance_end
        if start is not None and end is not None and start > end:
            yield _finding(
                "OQ-SUB-031",
                f"The performance period starts ({start}) after it ends ({end}). Swap or "
                "correct the dates.",
                f"{_set_path(index)}.performanceEnd",
            )


@rule("OQ-SUB-032")
def performance_period_inside_year(context: ValidationContext) -> Iterator[Finding]:
    year = context.submission.performance_year
    for index, measurement_set in _sets(context):
        for key, value in (
            ("performanceStart", measurement_set.performance_start),
            ("performanceEnd", measurement_set.performance_end),
        ):
            if value is not None and value.year != year:
                yield _finding(
                    "OQ-SUB-032",
                    f"`{key}` {value} is outside performance year {year}. Report data from "
                    f"January 1 to December 31 of {year} only, or correct the year.",
                    f"{_set_path(index)}.{key}",
                )


@rule("OQ-SUB-033")
def performance_period_long_enough(context: ValidationContext) -> Iterator[Finding]:
    """PI and IA need a continuous period of at least the year's minimum (42 CFR 414.1320)."""
    policy = context.policy
    if policy is None:
        return
    minimums = {
        Category.PI: (
            policy.scoring.pi.performance_period_days,
            "scoring.pi.performance_period_days",
        ),
        Category.IA: (
            policy.scoring.ia.performance_period_days,
            "scoring.ia.performance_period_days",
        ),
    }
    for index, measurement_set in _sets(context):
        if measurement_set.category not in minimums:
            continue
        start, end = measurement_set.performance_start, measurement_set.performance_end
        if start is None or end is None or start > end:
            continue
        minimum, parameter = minimums[measurement_set.category]
        days = _days(start, end)
        if days < minimum:
            what = (
                "Promoting Interoperability"
                if measurement_set.category is Category.PI
                else ("improvement activities")
            )
            yield _finding(
                "OQ-SUB-033",
                f"The {what} performance period {start} to {end} is {days} days; "
                f"{policy.year} requires at least {minimum} consecutive days. Report a period "
                f"of {minimum} days or more.{_unverified(policy, parameter)}",
                f"{_set_path(index)}.performanceEnd",
            )


# --------------------------------------------------------------------------- CEHRT


@rule("OQ-SUB-040")
def cehrt_id_present(context: ValidationContext) -> Iterator[Finding]:
    for index, measurement_set in _sets(context):
        if measurement_set.cehrt_id:
            continue
        if measurement_set.category is Category.PI:
            yield _finding(
                "OQ-SUB-040",
                "A Promoting Interoperability set needs the CMS EHR Certification ID "
                "(`cehrtId`) of the certified EHR technology used. Generate it in ONC's CHPL "
                "and add it.",
                f"{_set_path(index)}.cehrtId",
            )
        elif (
            measurement_set.category is Category.QUALITY
            and measurement_set.submission_method.value == "electronicHealthRecord"
        ):
            yield _finding(
                "OQ-SUB-040",
                "eCQM quality data should carry the CMS EHR Certification ID (`cehrtId`); add "
                "the ID from ONC's CHPL.",
                f"{_set_path(index)}.cehrtId",
                severity=WARNING,
            )


@rule("OQ-SUB-041")
def cehrt_id_matches_year_format(context: ValidationContext) -> Iterator[Finding]:
    policy = context.policy
    if policy is None:
        return
    pattern = re.compile(policy.scoring.pi.cehrt_id_pattern)
    for index, measurement_set in _sets(context):
        cehrt = measurement_set.cehrt_id
        if cehrt and pattern.fullmatch(cehrt) is None:
            yield _finding(
                "OQ-SUB-041",
                f"CEHRT ID {cehrt!r} does not have the {policy.year} format "
                f"({policy.scoring.pi.cehrt_id_pattern}): 15 upper-case letters or digits with "
                "the edition code in positions 3-5. Copy the ID exactly as CHPL shows it."
                + _unverified(policy, "scoring.pi.cehrt_id_pattern"),
                f"{_set_path(index)}.cehrtId",
            )


# --------------------------------------------------------------------------- measures


@rule("OQ-SUB-050")
def measure_ids_unique_in_set(context: ValidationContext) -> Iterator[Finding]:
    for set_index, measurement_set in _sets(context):
        seen: dict[str, int] = {}
        for index, measurement in enumerate(measurement_set.measurements):
            key = measurement.measure_id.casefold()
            if key in seen:
                yield _finding(
                    "OQ-SUB-050",
                    f"Measure {measurement.measure_id} appears twice in the set (measurements"
                    f"[{seen[key]}] and [{index}]). Keep one measurement per measure.",
                    f"{_measurement_path(set_index, index)}.measureId",
                    measure_id=measurement.measure_id,
                )
            else:
                seen[key] = index


@rule("OQ-SUB-051")
def measure_exists_for_year(context: ValidationContext) -> Iterator[Finding]:
    measures = context.measures
    if measures is None:
        return
    year = context.submission.performance_year
    for set_index, measurement_set, index, measurement in _measurements(context):
        if _lookup(measures, measurement_set.category, measurement.measure_id) is not None:
            continue
        elsewhere = measures.measure(measurement.measure_id)
        hint = (
            f" It is a {elsewhere.category} measure: move it to a {elsewhere.category} set."
            if elsewhere is not None
            else " Check the ID against the year's measures list (qpp-measures-data)."
        )
        yield _finding(
            "OQ-SUB-051",
            f"{measurement.measure_id} is not a {measurement_set.category.value} measure of "
            f"performance year {year}.{hint}",
            f"{_measurement_path(set_index, index)}.measureId",
            measure_id=measurement.measure_id,
        )


@rule("OQ-SUB-052")
def measure_allows_submission_method(context: ValidationContext) -> Iterator[Finding]:
    for set_index, measurement_set, index, measurement, measure in _known_measures(context):
        methods = getattr(measure, "submission_methods", None)
        method = measurement_set.submission_method.value
        if isinstance(methods, tuple) and methods and method not in methods:
            yield _finding(
                "OQ-SUB-052",
                f"Measure {measurement.measure_id} cannot be submitted by {method}; it allows "
                f"{', '.join(methods)}. Move it to a set with one of those methods.",
                f"{_measurement_path(set_index, index)}.measureId",
                measure_id=measurement.measure_id,
            )


@rule("OQ-SUB-053")
def measure_allows_program(context: ValidationContext) -> Iterator[Finding]:
    for set_index, measurement_set, index, measurement, measure in _known_measures(context):
        allowed = measure.allowed_programs
        program = measurement_set.program
        if allowed is None or program.casefold() in {p.casefold() for p in allowed}:
            continue
        what = "MVP" if measurement_set.is_mvp else "program"
        yield _finding(
            "OQ-SUB-053",
            f"Measure {measurement.measure_id} is not part of {what} {program!r} in "
            f"{context.submission.performance_year}. Remove it from this set or report it "
            "under a program that includes it.",
            f"{_measurement_path(set_index, index)}.measureId",
            measure_id=measurement.measure_id,
        )


_REGISTRATION: Final[dict[EntityType, str]] = {
    EntityType.INDIVIDUAL: "individual",
    EntityType.GROUP: "group",
    EntityType.VIRTUAL_GROUP: "group",
    EntityType.APM: "apm",
    EntityType.SUBGROUP: "subgroup",
}


@rule("OQ-SUB-054")
def measure_allows_entity_type(context: ValidationContext) -> Iterator[Finding]:
    kind = context.submission.entity_type
    for set_index, _set, index, measurement, measure in _known_measures(context):
        allowed = measure.allowed_registration_types
        if allowed is not None and _REGISTRATION[kind] not in allowed:
            yield _finding(
                "OQ-SUB-054",
                f"Measure {measurement.measure_id} is not available to {kind.value} "
                f"submissions (it allows {', '.join(allowed)}).",
                f"{_measurement_path(set_index, index)}.measureId",
                severity=WARNING,
                measure_id=measurement.measure_id,
            )


_SHAPES: Final[dict[str, str]] = {
    "boolean": "boolean",
    "proportion": "proportion",
    "singlePerformanceRate": "singlePerformanceRate",
    "registrySinglePerformanceRate": "singlePerformanceRate",
    "multiPerformanceRate": "multiPerformanceRate",
    "registryMultiPerformanceRate": "multiPerformanceRate",
    "nonProportion": "nonProportion",
}

_SHAPE_HELP: Final[dict[str, str]] = {
    "boolean": "true or false",
    "proportion": "{numerator, denominator}",
    "singlePerformanceRate": "{isEndToEndReported, performanceMet, performanceNotMet, "
    "eligiblePopulationExclusion, eligiblePopulationException, eligiblePopulation}",
    "multiPerformanceRate": "{isEndToEndReported, strata: [{stratum, performanceMet, "
    "eligiblePopulation, ...}]}",
    "nonProportion": "{isEndToEndReported, numerator, denominator, observationInstances}",
}


@rule("OQ-SUB-055")
def value_shape_matches_metric_type(context: ValidationContext) -> Iterator[Finding]:
    for set_index, _set, index, measurement, measure in _known_measures(context):
        path = f"{_measurement_path(set_index, index)}.value"
        expected = _SHAPES.get(measure.metric_type)
        if expected is None:
            yield _finding(
                "OQ-SUB-055",
                f"Measure {measurement.measure_id} ({measure.metric_type}) is calculated by "
                "CMS, not submitted. Remove it.",
                path,
                measure_id=measurement.measure_id,
            )
            continue
        actual = value_shape(measurement.value)
        if actual != expected:
            yield _finding(
                "OQ-SUB-055",
                f"Measure {measurement.measure_id} is a {measure.metric_type} measure, but its "
                f"value is a {actual}. Send {_SHAPE_HELP[expected]}.",
                path,
                measure_id=measurement.measure_id,
            )


# --------------------------------------------------------------------------- values


def _counts_fields(counts: PerformanceCounts) -> Iterator[tuple[str, int | None]]:
    yield "performanceMet", counts.performance_met
    yield "performanceNotMet", counts.performance_not_met
    yield "eligiblePopulationExclusion", counts.eligible_population_exclusion
    yield "eligiblePopulationException", counts.eligible_population_exception
    yield "eligiblePopulation", counts.eligible_population


def _numbers(value: object, path: str) -> Iterator[tuple[str, int | Decimal | None]]:
    if isinstance(value, Proportion):
        yield f"{path}.numerator", value.numerator
        yield f"{path}.denominator", value.denominator
        yield f"{path}.numeratorExclusion", value.numerator_exclusion
        yield f"{path}.denominatorException", value.denominator_exception
    elif isinstance(value, NonProportion):
        yield f"{path}.numerator", value.numerator
        yield f"{path}.denominator", value.denominator
        yield f"{path}.observationInstances", value.observation_instances
        yield f"{path}.numeratorExclusion", value.numerator_exclusion
        yield f"{path}.denominatorException", value.denominator_exception
    else:
        for counts, counts_path, _ in _rate_cases(value, path):
            for key, number in _counts_fields(counts):
                yield f"{counts_path}.{key}", number
        if isinstance(value, SinglePerformanceRate):
            yield f"{path}.numeratorExclusion", value.numerator_exclusion


@rule("OQ-SUB-060")
def counts_are_not_negative(context: ValidationContext) -> Iterator[Finding]:
    for set_index, _set, index, measurement in _measurements(context):
        path = f"{_measurement_path(set_index, index)}.value"
        for number_path, number in _numbers(measurement.value, path):
            if number is not None and number < 0:
                name = number_path.rsplit(".", 1)[-1]
                yield _finding(
                    "OQ-SUB-060",
                    f"{name} is {number} for measure {measurement.measure_id}; counts cannot be "
                    "negative. Correct the count"
                    + (
                        ": performanceNotMet is what remains of eligiblePopulation after "
                        "performanceMet, exclusions and exceptions, so the other counts add up "
                        "to more than eligiblePopulation."
                        if name == "performanceNotMet"
                        else "."
                    ),
                    number_path,
                    measure_id=measurement.measure_id,
                )


@rule("OQ-SUB-061")
def numerator_within_denominator(context: ValidationContext) -> Iterator[Finding]:
    for set_index, _set, index, measurement in _measurements(context):
        value = measurement.value
        if isinstance(value, Proportion) and value.numerator > value.denominator >= 0:
            yield _finding(
                "OQ-SUB-061",
                f"The numerator ({value.numerator}) of measure {measurement.measure_id} is "
                f"larger than its denominator ({value.denominator}). The numerator counts a "
                "subset of the denominator; correct either count.",
                f"{_measurement_path(set_index, index)}.value.numerator",
                measure_id=measurement.measure_id,
            )


@rule("OQ-SUB-062")
def performance_met_within_eligible_population(context: ValidationContext) -> Iterator[Finding]:
    for set_index, _set, index, measurement in _measurements(context):
        path = f"{_measurement_path(set_index, index)}.value"
        for counts, counts_path, stratum in _rate_cases(measurement.value, path):
            if counts.performance_met > counts.eligible_population >= 0:
                where = f" (stratum {stratum})" if stratum else ""
                yield _finding(
                    "OQ-SUB-062",
                    f"performanceMet ({counts.performance_met}) is larger than "
                    f"eligiblePopulation ({counts.eligible_population}) for measure "
                    f"{measurement.measure_id}{where}. Correct either count.",
                    f"{counts_path}.performanceMet",
                    measure_id=measurement.measure_id,
                )


@rule("OQ-SUB-063")
def population_arithmetic_adds_up(context: ValidationContext) -> Iterator[Finding]:
    """met + not met + exclusions + exceptions cannot exceed the eligible population."""
    for set_index, _set, index, measurement in _measurements(context):
        path = f"{_measurement_path(set_index, index)}.value"
        for counts, counts_path, stratum in _rate_cases(measurement.value, path):
            if counts.reported > counts.eligible_population >= 0 and (
                counts.performance_met <= counts.eligible_population
            ):
                where = f" (stratum {stratum})" if stratum else ""
                yield _finding(
                    "OQ-SUB-063",
                    f"performanceMet + performanceNotMet + eligiblePopulationExclusion + "
                    f"eligiblePopulationException = {counts.reported}, more than "
                    f"eligiblePopulation ({counts.eligible_population}) for measure "
                    f"{measurement.measure_id}{where}. Each eligible case is counted once; "
                    "correct the counts.",
                    f"{counts_path}.eligiblePopulation",
                    measure_id=measurement.measure_id,
                )


@rule("OQ-SUB-064")
def data_completeness_meets_threshold(context: ValidationContext) -> Iterator[Finding]:
    policy = context.policy
    if policy is None:
        return
    threshold = policy.scoring.quality.data_completeness
    for set_index, measurement_set, index, measurement in _measurements(context):
        if measurement_set.category is not Category.QUALITY:
            continue
        path = f"{_measurement_path(set_index, index)}.value"
        for counts, counts_path, stratum in _rate_cases(measurement.value, path):
            population = counts.eligible_population
            if population <= 0 or counts.reported > population:
                continue
            completeness = Decimal(counts.reported) / Decimal(population)
            if completeness < threshold:
                where = f" (stratum {stratum})" if stratum else ""
                yield _finding(
                    "OQ-SUB-064",
                    f"Measure {measurement.measure_id}{where} reports {counts.reported} of "
                    f"{population} eligible cases ({completeness:.1%}); {policy.year} needs "
                    f"{threshold:.0%} data completeness to score against the benchmark. Report "
                    "every eligible case (met, not met, exclusion or exception)."
                    + _unverified(policy, "scoring.quality.data_completeness"),
                    counts_path,
                    severity=WARNING,
                    measure_id=measurement.measure_id,
                )


@rule("OQ-SUB-066")
def performance_rate_in_range(context: ValidationContext) -> Iterator[Finding]:
    for set_index, _set, index, measurement in _measurements(context):
        value = measurement.value
        if not isinstance(value, SinglePerformanceRate | MultiPerformanceRate):
            continue
        rate = value.performance_rate
        if rate is not None and not Decimal(0) <= rate <= Decimal(100):
            yield _finding(
                "OQ-SUB-066",
                f"performanceRate {rate} of measure {measurement.measure_id} is outside 0-100. "
                "Give the rate as a percentage between 0 and 100.",
                f"{_measurement_path(set_index, index)}.value.performanceRate",
                measure_id=measurement.measure_id,
            )
    for set_index, _set, index, measurement, measure in _known_measures(context):
        value = measurement.value
        if (
            measure.metric_type in ("registrySinglePerformanceRate", "registryMultiPerformanceRate")
            and isinstance(value, SinglePerformanceRate | MultiPerformanceRate)
            and value.performance_rate is None
        ):
            yield _finding(
                "OQ-SUB-066",
                f"Measure {measurement.measure_id} is a QCDR measure: its value needs the "
                "performanceRate the QCDR calculated (0-100). Add `performanceRate`.",
                f"{_measurement_path(set_index, index)}.value",
                measure_id=measurement.measure_id,
            )


@rule("OQ-SUB-070")
def strata_match_measure(context: ValidationContext) -> Iterator[Finding]:
    for set_index, _set, index, measurement, measure in _known_measures(context):
        value = measurement.value
        if not isinstance(value, MultiPerformanceRate) or not isinstance(measure, QualityMeasure):
            continue
        names = {s.name.casefold(): s.name for s in measure.strata if s.name}
        path = f"{_measurement_path(set_index, index)}.value"
        seen: set[str] = set()
        for i, stratum in enumerate(value.strata):
            key = stratum.stratum.casefold()
            if names and key not in names:
                yield _finding(
                    "OQ-SUB-070",
                    f"Stratum {stratum.stratum!r} is not a stratum of measure "
                    f"{measurement.measure_id}; its strata are {', '.join(names.values())}.",
                    f"{path}.strata[{i}].stratum",
                    measure_id=measurement.measure_id,
                )
            if key in seen:
                yield _finding(
                    "OQ-SUB-070",
                    f"Stratum {stratum.stratum!r} appears twice for measure "
                    f"{measurement.measure_id}. Report each stratum once.",
                    f"{path}.strata[{i}].stratum",
                    measure_id=measurement.measure_id,
                )
            seen.add(key)
        missing = [name for key, name in names.items() if key not in seen]
        if measure.metric_type == "registryMultiPerformanceRate" and missing:
            yield _finding(
                "OQ-SUB-070",
                f"QCDR measure {measurement.measure_id} needs every stratum; missing: "
                f"{', '.join(missing)}.",
                f"{path}.strata",
                measure_id=measurement.measure_id,
            )


def _pi_pairs(
    context: ValidationContext, related: Callable[[PiMeasure], tuple[str, ...]]
) -> Iterator[tuple[int, int, Measurement, str]]:
    for set_index, measurement_set, index, measurement, measure in _known_measures(context):
        if measurement_set.category is not Category.PI or not isinstance(measure, PiMeasure):
            continue
        present = {m.measure_id.casefold(): m.measure_id for m in measurement_set.measurements}
        for other in related(measure):
            if (
                other.casefold() in present
                and other.casefold() != measurement.measure_id.casefold()
            ):
                yield set_index, index, measurement, present[other.casefold()]


@rule("OQ-SUB-080")
def pi_measure_and_exclusion_not_both(context: ValidationContext) -> Iterator[Finding]:
    for set_index, index, measurement, other in _pi_pairs(context, lambda m: m.exclusion):
        yield _finding(
            "OQ-SUB-080",
            f"{measurement.measure_id} and its exclusion {other} are both reported. Claim the "
            "exclusion or report the measure, not both.",
            f"{_measurement_path(set_index, index)}.measureId",
            measure_id=measurement.measure_id,
        )


@rule("OQ-SUB-081")
def pi_measure_and_substitute_not_both(context: ValidationContext) -> Iterator[Finding]:
    reported: set[tuple[int, frozenset[str]]] = set()
    for set_index, index, measurement, other in _pi_pairs(context, lambda m: m.substitutes):
        pair = (set_index, frozenset({measurement.measure_id.casefold(), other.casefold()}))
        if pair not in reported:
            reported.add(pair)
            yield _finding(
                "OQ-SUB-081",
                f"{measurement.measure_id} and {other} satisfy the same PI requirement; report "
                "one of them.",
                f"{_measurement_path(set_index, index)}.measureId",
                measure_id=measurement.measure_id,
            )


def rule_names() -> dict[str, str]:
    """Every rule's name by its code (one code may cover several messages)."""
    return {info.name: info.code for info in RULES}
