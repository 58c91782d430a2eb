"""QPP JSON <-> the canonical submission.

`submission_to_json` writes the keys in the order CMS's QRDA III converter writes them and
leaves out absent (`None`) values, so a converted file is the same JSON the reference
converter produces. `submission_from_json` reads a parsed QPP JSON document (numbers may be
`int`, `float` or `Decimal`); it checks types only and raises `SubmissionShapeError` naming
the JSONPath of the first value it cannot read. Range and consistency checks are the
validation engine's job (`openqpp.core.submissions.validation`).

Read-only fields that API responses carry (`id`, `createdAt`, `reportingRate`, ...) and the
legacy submission-level `programName` are accepted and not kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from openqpp.core.errors import InvalidValue, Location
from openqpp.core.submissions.model import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    StratumPerformance,
    Submission,
    SubmissionMethod,
)

JsonObject = dict[str, object]


class SubmissionShapeError(InvalidValue):
    """A QPP JSON value has the wrong type or is missing; `location.path` is its JSONPath."""

    code = "OQ-SUB-000"

    def __init__(self, path: str, message: str, fix: str) -> None:
        super().__init__(message, fix=fix, code=self.code, location=Location(path=path))
        self.path = path


# --------------------------------------------------------------------------- writing


def _number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: an int when whole, else the nearest float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _put(target: JsonObject, key: str, value: object) -> None:
    if value is None:
        return
    target[key] = _number(value) if isinstance(value, Decimal) else value


def _counts_to_json(counts: PerformanceCounts, out: JsonObject) -> None:
    _put(out, "performanceMet", counts.performance_met)
    _put(out, "eligiblePopulationExclusion", counts.eligible_population_exclusion)
    _put(out, "eligiblePopulationException", counts.eligible_population_exception)
    _put(out, "performanceNotMet", counts.performance_not_met)
    _put(out, "eligiblePopulation", counts.eligible_population)


def value_to_json(value: MeasurementValue) -> object:
    if isinstance(value, bool):
        return value
    out: JsonObject = {}
    if isinstance(value, Proportion):
        _put(out, "numerator", value.numerator)
        _put(out, "denominator", value.denominator)
        _put(out, "numeratorExclusion", value.numerator_exclusion)
        _put(out, "denominatorException", value.denominator_exception)
    elif isinstance(value, SinglePerformanceRate):
        out["isEndToEndReported"] = value.is_end_to_end_reported
        _counts_to_json(value.counts, out)
        _put(out, "numeratorExclusion", value.numerator_exclusion)
        _put(out, "performanceRate", value.performance_rate)
    elif isinstance(value, MultiPerformanceRate):
        out["isEndToEndReported"] = value.is_end_to_end_reported
        strata: list[object] = []
        for stratum in value.strata:
            entry: JsonObject = {}
            _counts_to_json(stratum.counts, entry)
            entry["stratum"] = stratum.stratum
            strata.append(entry)
        out["strata"] = strata
        _put(out, "performanceRate", value.performance_rate)
    else:
        _put(out, "numerator", value.numerator)
        _put(out, "denominator", value.denominator)
        out["isEndToEndReported"] = value.is_end_to_end_reported
        _put(out, "numeratorExclusion", value.numerator_exclusion)
        _put(out, "denominatorException", value.denominator_exception)
        _put(out, "observationInstances", value.observation_instances)
    return out


def measurement_set_to_json(measurement_set: MeasurementSet) -> JsonObject:
    out: JsonObject = {
        "category": measurement_set.category.value,
        "submissionMethod": measurement_set.submission_method.value,
    }
    _put(out, "cehrtId", measurement_set.cehrt_id)
    out["measurements"] = [
        {"measureId": m.measure_id, "value": value_to_json(m.value)}
        for m in measurement_set.measurements
    ]
    _put(out, "programName", measurement_set.program_name)
    if measurement_set.performance_start is not None:
        out["performanceStart"] = measurement_set.performance_start.isoformat()
    if measurement_set.performance_end is not None:
        out["performanceEnd"] = measurement_set.performance_end.isoformat()
    _put(out, "source", measurement_set.source)
    return out


def submission_to_json(submission: Submission) -> JsonObject:
    out: JsonObject = {
        "performanceYear": submission.performance_year,
        "entityType": submission.entity_type.value,
    }
    _put(out, "nationalProviderIdentifier", submission.npi)
    _put(out, "taxpayerIdentificationNumber", submission.tin)
    _put(out, "entityId", submission.entity_id)
    out["measurementSets"] = [measurement_set_to_json(s) for s in submission.measurement_sets]
    return out


# --------------------------------------------------------------------------- reading


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SubmissionShapeError(
            path,
            f"{path} is {_type_name(value)}, not an object.",
            "Write this value as a JSON object ({...}) as the QPP submission format defines.",
        )
    return value


def _array(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise SubmissionShapeError(
            path,
            f"{path} is {_type_name(value)}, not an array.",
            "Write this value as a JSON array ([...]).",
        )
    return value


def _required(data: Mapping[str, Any], key: str, path: str) -> object:
    if key not in data or data[key] is None:
        raise SubmissionShapeError(
            f"{path}.{key}",
            f"{path}.{key} is missing.",
            f"Add `{key}`; the QPP submission format requires it here.",
        )
    return data[key]


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise SubmissionShapeError(
            path, f"{path} is {_type_name(value)}, not a string.", "Write this value in quotes."
        )
    return value


def _optional_string(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    return None if value is None else _string(value, f"{path}.{key}")


def _boolean(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise SubmissionShapeError(
            path,
            f"{path} is {_type_name(value)}, not true or false.",
            "Write true or false (no quotes).",
        )
    return value


def _integer(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise SubmissionShapeError(
            path,
            f"{path} is {_type_name(value)}, not a whole number.",
            "Write a whole number without quotes, e.g. 120.",
        )
    if isinstance(value, int):
        return value
    exact = Decimal(repr(value)) if isinstance(value, float) else value
    if not exact.is_finite() or exact != exact.to_integral_value():
        raise SubmissionShapeError(
            path,
            f"{path} is {value}, not a whole number.",
            "Counts are whole numbers; remove the decimal part.",
        )
    return int(exact)


def _decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise SubmissionShapeError(
            path,
            f"{path} is {_type_name(value)}, not a number.",
            "Write a number without quotes, e.g. 12.5.",
        )
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        raise SubmissionShapeError(path, f"{path} is not a finite number.", "Write a number.")
    return exact


def _optional_integer(data: Mapping[str, Any], key: str, path: str) -> int | None:
    value = data.get(key)
    return None if value is None else _integer(value, f"{path}.{key}")


def _optional_decimal(data: Mapping[str, Any], key: str, path: str) -> Decimal | None:
    value = data.get(key)
    return None if value is None else _decimal(value, f"{path}.{key}")


def _enum_value(enum: type[Any], raw: object, path: str, what: str) -> Any:
    text = _string(raw, path)
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise SubmissionShapeError(
            path, f"{path} is {text!r}, not a known {what}.", f"Use one of: {allowed}."
        ) from None


def _date(data: Mapping[str, Any], key: str, path: str) -> dt.date | None:
    value = data.get(key)
    if value is None:
        return None
    text = _string(value, f"{path}.{key}")
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SubmissionShapeError(
            f"{path}.{key}",
            f"{path}.{key} is {text!r}, not a calendar date.",
            "Write the date as YYYY-MM-DD, e.g. 2025-01-01.",
        ) from None


def _counts(data: Mapping[str, Any], path: str) -> PerformanceCounts:
    return PerformanceCounts(
        performance_met=_integer(_required(data, "performanceMet", path), f"{path}.performanceMet"),
        eligible_population=_integer(
            _required(data, "eligiblePopulation", path), f"{path}.eligiblePopulation"
        ),
        performance_not_met=_optional_integer(data, "performanceNotMet", path),
        eligible_population_exclusion=_optional_integer(data, "eligiblePopulationExclusion", path),
        eligible_population_exception=_optional_integer(data, "eligiblePopulationException", path),
    )


def value_from_json(raw: object, path: str) -> MeasurementValue:
    """A measurement value; its shape is told by its keys, as the QPP format defines."""
    if isinstance(raw, bool):
        return raw
    data = _object(raw, path)
    if "strata" in data:
        strata = tuple(
            StratumPerformance(
                stratum=_string(
                    _required(
                        _object(entry, f"{path}.strata[{i}]"), "stratum", f"{path}.strata[{i}]"
                    ),
                    f"{path}.strata[{i}].stratum",
                ),
                counts=_counts(entry, f"{path}.strata[{i}]"),
            )
            for i, entry in enumerate(_array(data["strata"], f"{path}.strata"))
        )
        return MultiPerformanceRate(
            is_end_to_end_reported=_boolean(
                _required(data, "isEndToEndReported", path), f"{path}.isEndToEndReported"
            ),
            strata=strata,
            performance_rate=_optional_decimal(data, "performanceRate", path),
        )
    if "performanceMet" in data or "eligiblePopulation" in data:
        return SinglePerformanceRate(
            is_end_to_end_reported=_boolean(
                _required(data, "isEndToEndReported", path), f"{path}.isEndToEndReported"
            ),
            counts=_counts(data, path),
            performance_rate=_optional_decimal(data, "performanceRate", path),
            numerator_exclusion=_optional_integer(data, "numeratorExclusion", path),
        )
    if "observationInstances" in data or "isEndToEndReported" in data:
        return NonProportion(
            is_end_to_end_reported=_boolean(
                _required(data, "isEndToEndReported", path), f"{path}.isEndToEndReported"
            ),
            numerator=_decimal(_required(data, "numerator", path), f"{path}.numerator"),
            denominator=_decimal(_required(data, "denominator", path), f"{path}.denominator"),
            observation_instances=_integer(
                _required(data, "observationInstances", path), f"{path}.observationInstances"
            ),
            numerator_exclusion=_optional_decimal(data, "numeratorExclusion", path),
            denominator_exception=_optional_decimal(data, "denominatorException", path),
        )
    return Proportion(
        numerator=_integer(_required(data, "numerator", path), f"{path}.numerator"),
        denominator=_integer(_required(data, "denominator", path), f"{path}.denominator"),
        numerator_exclusion=_optional_integer(data, "numeratorExclusion", path),
        denominator_exception=_optional_integer(data, "denominatorException", path),
    )


def measurement_set_from_json(raw: object, path: str) -> MeasurementSet:
    data = _object(raw, path)
    measurements = tuple(
        Measurement(
            measure_id=_string(
                _required(
                    _object(m, f"{path}.measurements[{i}]"),
                    "measureId",
                    f"{path}.measurements[{i}]",
                ),
                f"{path}.measurements[{i}].measureId",
            ),
            value=value_from_json(
                _required(m, "value", f"{path}.measurements[{i}]"),
                f"{path}.measurements[{i}].value",
            ),
        )
        for i, m in enumerate(_array(data.get("measurements") or [], f"{path}.measurements"))
    )
    return MeasurementSet(
        category=_enum_value(
            Category, _required(data, "category", path), f"{path}.category", "category"
        ),
        submission_method=_enum_value(
            SubmissionMethod,
            _required(data, "submissionMethod", path),
            f"{path}.submissionMethod",
            "submission method",
        ),
        measurements=measurements,
        program_name=_optional_string(data, "programName", path),
        performance_start=_date(data, "performanceStart", path),
        performance_end=_date(data, "performanceEnd", path),
        cehrt_id=_optional_string(data, "cehrtId", path),
        source=_optional_string(data, "source", path),
    )


def submission_from_json(raw: object) -> Submission:
    data = _object(raw, "$")
    sets = _array(data.get("measurementSets") or [], "$.measurementSets")
    return Submission(
        performance_year=_integer(_required(data, "performanceYear", "$"), "$.performanceYear"),
        entity_type=_enum_value(
            EntityType, _required(data, "entityType", "$"), "$.entityType", "entity type"
        ),
        tin=_optional_string(data, "taxpayerIdentificationNumber", "$"),
        npi=_optional_string(data, "nationalProviderIdentifier", "$"),
        entity_id=_optional_string(data, "entityId", "$"),
        measurement_sets=tuple(
            measurement_set_from_json(s, f"$.measurementSets[{i}]") for i, s in enumerate(sets)
        ),
    )
