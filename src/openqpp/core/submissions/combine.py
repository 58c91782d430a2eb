"""Data from several sources for one entity: how measurement sets combine, and when they clash.

One entity's submission may hold measurement sets from several submitters (the practice, each
authorised registry or QCDR) and several submission methods (a QRDA III file's
``electronicHealthRecord``, a QPP JSON file's or the API's ``registry``, the pages' manual
``attestation``). The Reporting Overview lists them together per category; scoring reads them
together:

* Quality: every set's measures count; "If you submit the same measure through multiple
  collection types, we will use the collection type that earned the most performance points"
  (2019 data submission user guide, Quality, Measure Information). Nothing clashes.
* Improvement Activities: an activity attested in any set counts once ("If a third party
  reported some but not all of the activities performed, you can manually enter any missing
  activities", guide, Improvement Activities).
* Promoting Interoperability: see :func:`pi_conflicts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from openqpp.core.submissions.model import (
    Category,
    MeasurementSet,
    MeasurementValue,
    MultiPerformanceRate,
    NonProportion,
    Proportion,
    SinglePerformanceRate,
    Submission,
    SubmissionMethod,
)
from openqpp.measures import MeasuresYear

#: How people name each submission type (the guide: "file upload, API, or attestation").
SUBMISSION_TYPES: Final[dict[SubmissionMethod, str]] = {
    SubmissionMethod.ELECTRONIC_HEALTH_RECORD: "electronic health record (QRDA III or EHR file)",
    SubmissionMethod.REGISTRY: "registry (QPP JSON file or API)",
    SubmissionMethod.ATTESTATION: "manual attestation",
    SubmissionMethod.CLAIMS: "Medicare Part B claims",
    SubmissionMethod.CMS_WEB_INTERFACE: "CMS Web Interface",
    SubmissionMethod.ADMINISTRATIVE_CLAIMS: "administrative claims",
    SubmissionMethod.CERTIFIED_SURVEY_VENDOR: "certified survey vendor",
}


def submission_type(measurement_set: MeasurementSet) -> str:
    """The set's submission type in words (``manual attestation``)."""
    return SUBMISSION_TYPES.get(
        measurement_set.submission_method, measurement_set.submission_method.value
    )


def describe_value(value: MeasurementValue) -> str:
    """A measurement's value in a few words: ``Yes``, ``3 / 4``, ``120 met of 156``."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Proportion):
        return f"{value.numerator} / {value.denominator}"
    if isinstance(value, SinglePerformanceRate):
        counts = value.counts
        text = f"{counts.performance_met} met of {counts.eligible_population} eligible"
        if value.performance_rate is not None:
            text += f" (rate {value.performance_rate}%)"
        return text
    if isinstance(value, MultiPerformanceRate):
        parts = [
            f"{s.stratum}: {s.counts.performance_met} met of {s.counts.eligible_population}"
            for s in value.strata
        ]
        return "; ".join(parts) if parts else "no strata"
    if isinstance(value, NonProportion):
        return f"{value.numerator} / {value.denominator} ({value.observation_instances} instances)"
    return str(value)  # pragma: no cover - every value shape is handled above


@dataclass(frozen=True, slots=True)
class PiConflict:
    """One clash between PI sets: what differs, and the sets (by label) that disagree."""

    subject: str
    """A measure id, an exclusion pair (``PI_EP_1 / PI_LVPP_1``) or ``CEHRT ID``."""
    detail: str
    """``3 / 4 in registry (QPP JSON file or API); 5 / 9 in manual attestation``."""


def _pi_sets(
    data: Submission | Sequence[MeasurementSet], labels: Sequence[str] | None
) -> list[tuple[str, MeasurementSet]]:
    sets = data.measurement_sets if isinstance(data, Submission) else tuple(data)
    if labels is not None and len(labels) != len(sets):
        raise ValueError("labels must name every measurement set, in order")
    named = [
        (labels[i] if labels is not None else submission_type(s), s) for i, s in enumerate(sets)
    ]
    pi = [(label, s) for label, s in named if s.category is Category.PI]
    # Two sets of the same type (two registries) need telling apart in the message.
    counts: dict[str, int] = {}
    for label, _ in pi:
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for label, s in pi:
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label = f"{label} #{seen[label]}"
        out.append((label, s))
    return out


def pi_conflicting_data(
    data: Submission | Sequence[MeasurementSet],
    *,
    measures: MeasuresYear | None = None,
    labels: Sequence[str] | None = None,
) -> tuple[PiConflict, ...]:
    """Every clash between the entity's PI measurement sets (see :func:`pi_conflicts`)."""
    sets = _pi_sets(data, labels)
    if len(sets) < 2:
        return ()
    conflicts: list[PiConflict] = []
    values: dict[str, list[tuple[str, MeasurementValue]]] = {}
    shown: dict[str, str] = {}
    for label, measurement_set in sets:
        for measurement in measurement_set.measurements:
            key = measurement.measure_id.upper()
            shown.setdefault(key, measurement.measure_id)
            values.setdefault(key, []).append((label, measurement.value))
    for key, found in values.items():
        if len({repr(v) for _, v in found}) > 1:
            detail = "; ".join(f"{describe_value(v)} in {label}" for label, v in found)
            conflicts.append(PiConflict(shown[key], detail))
    if measures is not None:
        conflicts += _measure_and_exclusion(sets, measures)
    cehrt = {(label, s.cehrt_id) for label, s in sets if s.cehrt_id}
    if len({c for _, c in cehrt}) > 1:
        detail = "; ".join(f"{c} in {label}" for label, c in sorted(cehrt))
        conflicts.append(PiConflict("CEHRT ID", detail))
    return tuple(conflicts)


def _measure_and_exclusion(
    sets: Sequence[tuple[str, MeasurementSet]], measures: MeasuresYear
) -> list[PiConflict]:
    """A measure reported in one set while another set claims its exclusion."""
    out: list[PiConflict] = []
    for label, measurement_set in sets:
        for measurement in measurement_set.measurements:
            measure = measures.pi(measurement.measure_id)
            if measure is None:
                continue
            for other_label, other in sets:
                if other is measurement_set:
                    continue
                for claimed in other.measurements:
                    if claimed.value is True and claimed.measure_id.upper() in {
                        e.upper() for e in measure.exclusion
                    }:
                        out.append(
                            PiConflict(
                                f"{measurement.measure_id} / {claimed.measure_id}",
                                f"{measurement.measure_id} is reported in {label} "
                                f"({describe_value(measurement.value)}) while {other_label} "
                                f"claims its exclusion {claimed.measure_id}",
                            )
                        )
    return out


def pi_conflicts(
    data: Submission | Sequence[MeasurementSet],
    *,
    measures: MeasuresYear | None = None,
    labels: Sequence[str] | None = None,
) -> str | None:
    """Why the entity's PI data conflicts (so PI scores 0), or None when it does not.

    The rule (2019 data submission user guide, Promoting Interoperability, "Access Previously
    Submitted Data"): "Any conflicting data for a measure or required attestation submitted
    through multiple submission types will result in a score of 0 for the Promoting
    Interoperability performance category", and "If you report Promoting Interoperability data
    through multiple submission types (ex. Manual entry and file upload) and there is any
    conflicting data, you will receive a score of 0 out of 25". mips-rules.md §4.4 adds that a
    submission carries exactly one CEHRT ID.

    Decision: a *submission type* is one PI measurement set, i.e. one (submitter, submission
    method, program): a set is unique per submitter, category, method and program, so two PI
    sets differ in their method (a QRDA III ``electronicHealthRecord`` file, a QPP JSON or API
    ``registry`` set, the pages' ``attestation``), in their submitter (the practice and a
    registry, or two registries), or both. Several PI sets alone are *not* a conflict: the guide
    only recommends a single submission type, and data that agrees, or covers different measures,
    combines. The sets conflict when

    * the same measure or attestation (measureId, case-insensitive) has different values;
    * a measure is reported in one set while another claims one of its exclusions (needs the
      year's ``measures``); or
    * they carry different CEHRT IDs.

    ``labels`` names each set of ``data`` (all sets, in order) for the message, e.g. the
    submitter's name and type; by default the submission type. Scoring uses the same function.
    """
    found = pi_conflicting_data(data, measures=measures, labels=labels)
    if not found:
        return None
    items = "; ".join(f"{c.subject}: {c.detail}" for c in found)
    return (
        "Promoting Interoperability will score 0 because PI data came through more than one "
        f"submission type and conflicts ({items}). Use a single submission type for PI: ask "
        "the third party to delete the data it sent, or correct your own so every source "
        "agrees."
    )
