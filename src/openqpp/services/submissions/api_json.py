"""The Submissions API's objects as CMS's API returns them (shared/reference/notes/qpp-apis.md
§2.2 and §3.2; the tutorial responses in reference/qpp-api/submissions-docs/).

Submissions, measurement sets and measurements carry the read-only fields CMS's responses
carry (``id``, ``createdAt``, ``updatedAt``, ``submissionId``, ``submitterId``,
``submitterType``, ``suppressed``, ``source``, the legacy ``measureSet``, ``practiceId``,
``practiceDetails``), and measurement values the fields CMS computes:

- single performance rate: ``performanceRate`` = met / (met + not met) x 100 (the submitted
  rate for QCDR measures), ``reportingRate`` = (met + exclusions + exceptions + not met) /
  eligible population x 100, ``caseCount`` = eligible population (minus exclusions for QCDR
  measures), ``performanceRateNumerator`` = the rate and ``performanceRateDenominator`` = 1 (as
  CMS's current tutorial shows them);
- multi performance rate: ``performanceRate`` by the measure's ``overallAlgorithm``
  (simpleAverage, weightedAverage, sumNumerators, overallStratumOnly; the submitted rate for
  QCDR measures; none for ``split``), ``reportingRate`` and ``caseCount`` over the strata
  the algorithm uses;
- non-proportion: ``reportingRate`` = (observation instances + denominator exceptions +
  numerator exclusions) / denominator x 100, ``caseCount`` = denominator.

Rates are rounded to two decimals (76.92), written as whole numbers when whole (100).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.core.submissions import (
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    SinglePerformanceRate,
    StratumPerformance,
)
from openqpp.core.submissions.qpp_json import value_from_json
from openqpp.db.models import MeasurementRow, MeasurementSetRow, Organisation, SubmissionRow
from openqpp.measures import MeasuresYear, QualityMeasure
from openqpp.services.submissions_convert import catalogue, measures_or_none

#: Value keys the server computes; clients that send an object back get them ignored.
COMPUTED_VALUE_KEYS = frozenset(
    {"reportingRate", "caseCount", "performanceRateNumerator", "performanceRateDenominator"}
)
_REGISTRY_METRICS = frozenset({"registrySinglePerformanceRate", "registryMultiPerformanceRate"})
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def timestamp(moment: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds and a Z (2024-08-17T11:18:19.000Z)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(value: Decimal) -> int | float:
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if whole <= 0:
        return None
    return Decimal(part) / Decimal(whole) * _HUNDRED


# ---------------------------------------------------------------- computed value fields


def _reported(counts: PerformanceCounts) -> int:
    return counts.reported


def _single(value: SinglePerformanceRate, measure: QualityMeasure | None) -> dict[str, Any]:
    counts = value.counts
    registry = measure is not None and measure.metric_type in _REGISTRY_METRICS
    out: dict[str, Any] = {}
    if registry or (measure is None and value.performance_rate is not None):
        rate = value.performance_rate
    else:
        rate = _percent(
            counts.performance_met, counts.performance_met + (counts.performance_not_met or 0)
        )
    out["performanceRate"] = None if rate is None else _number(rate)
    reporting = _percent(_reported(counts), counts.eligible_population)
    out["reportingRate"] = None if reporting is None else _number(reporting)
    cases = counts.eligible_population
    if registry:
        cases -= counts.eligible_population_exclusion or 0
    out["caseCount"] = cases
    if rate is not None:
        out["performanceRateNumerator"] = _number(rate)
        out["performanceRateDenominator"] = 1
    return out


def _is_overall(stratum: StratumPerformance) -> bool:
    return stratum.stratum.strip().lower() == "overall"


def _stratum_rate(counts: PerformanceCounts) -> Decimal | None:
    denominator = (
        counts.performance_met
        + (counts.performance_not_met or 0)
        - (counts.eligible_population_exclusion or 0)
    )
    return _percent(counts.performance_met, denominator)


def _multi(value: MultiPerformanceRate, measure: QualityMeasure | None) -> dict[str, Any]:
    algorithm = measure.overall_algorithm if measure is not None else None
    registry = measure is not None and measure.metric_type in _REGISTRY_METRICS
    if algorithm == "overallStratumOnly":
        used = [s for s in value.strata if _is_overall(s)]
    else:
        used = [s for s in value.strata if not _is_overall(s)] or list(value.strata)
    counts = [s.counts for s in used]
    rate: Decimal | None = None
    cases: int | None = sum(c.eligible_population for c in counts)
    if registry or (measure is None and value.performance_rate is not None):
        rate = value.performance_rate
    elif algorithm == "simpleAverage":
        rates = [r for r in (_stratum_rate(c) for c in counts) if r is not None]
        rate = sum(rates, Decimal(0)) / len(rates) if rates else None
        cases = max((c.eligible_population for c in counts), default=0)
    elif algorithm == "weightedAverage":
        met = sum(c.performance_met for c in counts)
        rate = _percent(met, met + sum(c.performance_not_met or 0 for c in counts))
    elif algorithm == "sumNumerators":
        rate = Decimal(sum(c.performance_met for c in counts))
    elif algorithm == "overallStratumOnly":
        rate = _stratum_rate(counts[0]) if counts else None
    elif algorithm == "split":
        cases = None
    out: dict[str, Any] = {}
    if rate is not None:
        out["performanceRate"] = _number(rate)
    reporting = _percent(
        sum(_reported(c) for c in counts), sum(c.eligible_population for c in counts)
    )
    if algorithm != "split":
        out["reportingRate"] = None if reporting is None else _number(reporting)
    if cases is not None:
        out["caseCount"] = cases
    return out


def _non_proportion(value: NonProportion) -> dict[str, Any]:
    accounted = (
        Decimal(value.observation_instances)
        + (value.denominator_exception or 0)
        + (value.numerator_exclusion or 0)
    )
    reporting = _percent(accounted, value.denominator)
    return {
        "reportingRate": None if reporting is None else _number(reporting),
        "caseCount": _number(value.denominator),
    }


def value_with_computed(stored: Any, measure: QualityMeasure | None) -> Any:
    """The stored QPP JSON value with the fields CMS computes added (booleans unchanged)."""
    if not isinstance(stored, Mapping):
        return stored
    out = {k: v for k, v in stored.items() if k not in COMPUTED_VALUE_KEYS}
    try:
        value = value_from_json(dict(stored), "$.value")
    except Exception:  # a stored value is always readable; never fail a read on one
        return out
    if isinstance(value, SinglePerformanceRate):
        out.update(_single(value, measure))
    elif isinstance(value, MultiPerformanceRate):
        out.update(_multi(value, measure))
    elif isinstance(value, NonProportion):
        out.update(_non_proportion(value))
    return out


# ---------------------------------------------------------------- objects


class Renderer:
    """Renders rows of one request: looks up submitter organisations and measures data once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._orgs: dict[int, str] = {}
        self._years: dict[int, MeasuresYear | None] = {}

    def prepare(self, sets: Iterable[MeasurementSetRow]) -> Renderer:
        wanted = {
            s.submitter_organisation_id
            for s in sets
            if s.submitter_organisation_id is not None
            and s.submitter_organisation_id not in self._orgs
        }
        if wanted:
            rows = self.session.execute(
                select(Organisation.id, Organisation.identifier).where(Organisation.id.in_(wanted))
            ).all()
            self._orgs.update({pk: identifier for pk, identifier in rows})
        return self

    def measures(self, year: int) -> MeasuresYear | None:
        if year not in self._years:
            self._years[year] = measures_or_none(catalogue(), year)
        return self._years[year]

    def submitter_id(self, row: MeasurementSetRow) -> str:
        """The submitting organisation's identifier (a registry's vendor id, a practice's TIN),
        ``operator`` for the command line."""
        if row.submitter_organisation_id is None:
            return row.submitter_key
        self.prepare([row])
        return self._orgs.get(row.submitter_organisation_id, row.submitter_key)

    def measurement(
        self, row: MeasurementRow, set_row: MeasurementSetRow, year: int
    ) -> dict[str, Any]:
        measures = self.measures(year)
        measure = measures.quality(row.measure_id) if measures is not None else None
        return {
            "id": row.id,
            "measurementSetId": set_row.id,
            "measureId": row.measure_id,
            "value": value_with_computed(row.value, measure),
            "performanceStart": None,
            "performanceEnd": None,
        }

    def measurement_set(self, row: MeasurementSetRow) -> dict[str, Any]:
        year = row.submission.performance_year
        return {
            "id": row.id,
            "createdAt": timestamp(row.created_at),
            "updatedAt": timestamp(row.updated_at),
            "submissionId": row.submission_id,
            "category": row.category,
            "submissionMethod": row.submission_method,
            "measureSet": None,
            "submitterId": self.submitter_id(row),
            "submitterType": row.submitter_type,
            "programName": row.program_name,
            "practiceId": "",
            "practiceDetails": None,
            "cehrtId": row.cehrt_id or "",
            "suppressed": False,
            "source": row.source,
            "performanceStart": row.performance_start.isoformat()
            if row.performance_start
            else None,
            "performanceEnd": row.performance_end.isoformat() if row.performance_end else None,
            "measurements": [self.measurement(m, row, year) for m in row.measurements],
        }

    def submission(self, row: SubmissionRow, sets: Sequence[MeasurementSetRow]) -> dict[str, Any]:
        self.prepare(sets)
        return {
            "id": row.id,
            "createdAt": timestamp(row.created_at),
            "updatedAt": timestamp(row.updated_at),
            "entityType": row.entity_type,
            "entityId": row.entity_id,
            "taxpayerIdentificationNumber": row.tin,
            "nationalProviderIdentifier": row.npi,
            "performanceYear": row.performance_year,
            "measurementSets": [self.measurement_set(s) for s in sets],
        }
