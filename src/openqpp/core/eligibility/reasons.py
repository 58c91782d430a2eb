"""Why an entity got its status: a stable code, the facts, and a plain-language text.

A :class:`Reason` holds only facts (the segment, the criterion checks and a few named values);
its :attr:`Reason.text` is rendered from them when read, so a determination over a million
entities does not build a million sentences, and a reason stored as a compact record
(:meth:`Reason.as_record`) renders the same text after :meth:`Reason.from_record`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from openqpp.core.eligibility.model import (
    CRITERION_TEXT_ORDER,
    Criterion,
    CriterionCheck,
    ReasonCode,
    SpecialStatus,
    Status,
    format_count,
    format_share,
    phrase,
)
from openqpp.policy.model import Comparison

Facts = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason of a result. ``facts`` are name/value strings the text is rendered from."""

    code: str
    segment: int | None = None
    checks: tuple[CriterionCheck, ...] = ()
    facts: Facts = ()

    @property
    def text(self) -> str:
        """The reason in the words of the QPP eligibility pages."""
        return render(self)

    def fact(self, name: str) -> str | None:
        for key, value in self.facts:
            if key == name:
                return value
        return None

    def as_record(self) -> dict[str, object]:
        """A compact JSON-ready record (for the `eligibility_results.reasons` column)."""
        record: dict[str, object] = {"code": self.code}
        if self.segment is not None:
            record["segment"] = self.segment
        if self.checks:
            record["checks"] = [
                {
                    "criterion": c.criterion.value,
                    "value": str(c.value),
                    "threshold": str(c.threshold),
                    "comparison": c.comparison.value,
                    "exceeded": c.exceeded,
                }
                for c in self.checks
            ]
        if self.facts:
            record["facts"] = dict(self.facts)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Reason:
        checks: list[CriterionCheck] = []
        raw_checks = record.get("checks") or []
        segment = record.get("segment")
        seg = int(str(segment)) if segment is not None else None
        if isinstance(raw_checks, list):
            for raw in raw_checks:
                criterion = Criterion(raw["criterion"])
                value: Decimal | int = (
                    Decimal(raw["value"]) if criterion.is_money else int(raw["value"])
                )
                checks.append(
                    CriterionCheck(
                        criterion=criterion,
                        segment=seg if seg is not None else 0,
                        value=value,
                        threshold=Decimal(raw["threshold"]),
                        comparison=Comparison(raw["comparison"]),
                        exceeded=bool(raw["exceeded"]),
                    )
                )
        raw_facts = record.get("facts") or {}
        facts: Facts = (
            tuple((str(k), str(v)) for k, v in raw_facts.items())
            if isinstance(raw_facts, dict)
            else ()
        )
        return cls(code=str(record["code"]), segment=seg, checks=tuple(checks), facts=facts)


# ---------------------------------------------------------------- rendering


def _facts(reason: Reason) -> dict[str, str]:
    return dict(reason.facts)


def _count(number: str, noun: str) -> str:
    """``1 clinician``, ``12 clinicians`` (``noun`` is singular; plural adds an s)."""
    return f"{format_count(Decimal(number))} {noun if Decimal(number) == 1 else noun + 's'}"


def _label(key: str) -> str:
    return key.replace("_", " ")


def _lvt(reason: Reason) -> str:
    answer = "Yes" if reason.code == ReasonCode.LVT_EXCEEDS_ALL else "No"
    by_criterion = {c.criterion: c for c in reason.checks}
    parts = [by_criterion[c].describe() for c in CRITERION_TEXT_ORDER if c in by_criterion]
    return f"Exceeds low volume threshold: {answer} — {', '.join(parts)}, segment {reason.segment}"


def _new_entity(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"This {f.get('unit', 'entity')} first billed in segment {reason.segment} (no claims in "
        f"any earlier segment), so it is judged on segment {reason.segment} alone."
    )


def _combined(reason: Reason) -> str:
    f = _facts(reason)
    pairs = [p.split(":") for p in f["statuses"].split(",")]
    listed = "; ".join(f"segment {seg}: {Status(status).label}" for seg, status in pairs)
    result = Status(f["status"]).label
    text = f"Segments combined ({listed}): the lower status counts, so {result}."
    if f.get("inference") == "yes":
        text += (
            " CMS documents that an entity must exceed the low-volume threshold in both segments"
            " to be MIPS eligible; taking the lower status (exempt < opt-in eligible < MIPS"
            " eligible) when a segment is opt-in eligible is openqpp's documented inference"
            " (mips-rules §2.4), not CMS wording."
        )
    else:
        text += " An entity must exceed the low-volume threshold in both segments (CMS)."
    return text


def _not_enrolled(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"NPI {f['npi']} has no Medicare enrolment record, so its clinician type and enrolment "
        f"date are unknown: not a MIPS eligible clinician."
    )


def _type(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"Clinician type {_label(f['clinician_type'])} is not a MIPS eligible clinician type in "
        f"performance year {f['year']}: exempt (may report voluntarily)."
    )


def _newly_enrolled(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"Newly enrolled: first enrolled in Medicare on {f['first_enrolled']}, not before "
        f"performance year {f['year']}: exempt this year."
    )


def _qp(reason: Reason) -> str:
    f = _facts(reason)
    return f"Qualifying APM Participant (QP) in performance year {f['year']}: excluded from MIPS."


def _partial_qp(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"Partial QP in performance year {f['year']}: excluded from MIPS unless an election to "
        f"participate in MIPS is made, so shown as exempt."
    )


def _no_eligible(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"No clinician of this {f['unit']} ({_count(f['clinicians'], 'clinician')}) is a MIPS "
        f"eligible clinician (an eligible clinician type, enrolled in Medicare before "
        f"performance year {f['year']}, not a QP or Partial QP): exempt, and opting in is not "
        f"possible."
    )


def _opt_in_not_available(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"Opting in is not available to this {f['unit']} in performance year {f['year']}: "
        f"exceeding some but not all low-volume threshold criteria leaves it exempt."
    )


def _apm_not_evaluated(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"The low-volume threshold is not evaluated at the APM entity level in performance year "
        f"{f['year']}; it is evaluated for each TIN/NPI and TIN."
    )


_APM_RULE: Final = (
    "(openqpp's rule where the threshold is not evaluated at the APM entity level: the entity is "
    "MIPS eligible when at least one participant TIN/NPI is MIPS eligible)"
)


def _apm_eligible(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"MIPS eligible participant TIN/NPIs: {f['eligible']} of {f['participants']}, so the "
        f"APM entity is MIPS eligible {_APM_RULE}."
    )


def _apm_none(reason: Reason) -> str:
    f = _facts(reason)
    return (
        f"No participant TIN/NPI ({_count(f['participants'], 'participant')}) is MIPS eligible, "
        f"so the APM entity is exempt {_APM_RULE}."
    )


def _needs(f: Mapping[str, str], formatted: str) -> str:
    return f"needs {phrase(Comparison(f['comparison']))} {formatted}"


_HOLDING: Final = {
    SpecialStatus.SMALL_PRACTICE: "are in a small practice",
    SpecialStatus.RURAL: "practise in a rural ZIP code",
    SpecialStatus.HPSA: "practise in a HPSA",
    SpecialStatus.NON_PATIENT_FACING: "are non-patient facing",
    SpecialStatus.HOSPITAL_BASED: "are hospital-based",
    SpecialStatus.FACILITY_BASED: "are facility-based",
    SpecialStatus.ASC_BASED: "are ASC-based",
}


def _special(reason: Reason) -> str:
    status = SpecialStatus(reason.code.removeprefix("SPECIAL_STATUS_").lower())
    f = _facts(reason)
    basis = f.get("basis")
    segment = f"segment {reason.segment}"
    if basis == "clinicians_billing":
        detail = (
            f"{_count(f['value'], 'clinician')} billed under the {f['unit']} in "
            f"{segment} ({_needs(f, format_count(Decimal(f['threshold'])))})"
        )
    elif basis == "encounters":
        detail = (
            f"{_count(f['value'], 'patient-facing encounter')} in {segment} "
            f"({_needs(f, format_count(Decimal(f['threshold'])))})"
        )
    elif basis == "services":
        codes = f["places_of_service"].split(",")
        places = ("place of service " if len(codes) == 1 else "places of service ") + ", ".join(
            codes
        )
        detail = (
            f"{f['holders']} of {_count(f['total'], 'covered service')} "
            f"({format_share(Decimal(f['value']))}) billed in {places} in "
            f"{segment} ({_needs(f, format_share(Decimal(f['threshold'])))})"
        )
        if f.get("vbp_attributed") == "yes":
            detail += ", attributed to a hospital with a Hospital VBP score"
    elif basis == "location":
        where = "a rural ZIP code" if status is SpecialStatus.RURAL else "a HPSA"
        detail = f"practises at a location in {where} while billing in {segment}"
    else:  # clinicians holding the individual status
        share = format_share(Decimal(f["value"]))
        detail = (
            f"{f['holders']} of {_count(f['total'], 'clinician')} ({share}) "
            f"{_HOLDING[status]} in {segment} ({_needs(f, format_share(Decimal(f['threshold'])))})"
        )
    also = f.get("also_segments")
    if also:
        detail += f"; also met in segment {also.replace(',', ', ')}"
    return f"{status.display}: {detail}."


_RENDERERS: Final[Mapping[str, Callable[[Reason], str]]] = {
    ReasonCode.LVT_EXCEEDS_ALL: _lvt,
    ReasonCode.LVT_EXCEEDS_SOME: _lvt,
    ReasonCode.LVT_EXCEEDS_NONE: _lvt,
    ReasonCode.SEGMENTS_COMBINED: _combined,
    ReasonCode.CLINICIAN_NOT_ENROLLED: _not_enrolled,
    ReasonCode.CLINICIAN_TYPE_NOT_ELIGIBLE: _type,
    ReasonCode.NEWLY_ENROLLED: _newly_enrolled,
    ReasonCode.QUALIFYING_APM_PARTICIPANT: _qp,
    ReasonCode.PARTIAL_QP: _partial_qp,
    ReasonCode.NO_ELIGIBLE_CLINICIAN: _no_eligible,
    ReasonCode.OPT_IN_NOT_AVAILABLE: _opt_in_not_available,
    ReasonCode.APM_LVT_NOT_EVALUATED: _apm_not_evaluated,
    ReasonCode.APM_PARTICIPANT_ELIGIBLE: _apm_eligible,
    ReasonCode.APM_NO_PARTICIPANT_ELIGIBLE: _apm_none,
}


def render(reason: Reason) -> str:
    """The plain-language text of ``reason``; an unknown code renders as the code itself."""
    renderer = _RENDERERS.get(reason.code)
    if renderer is not None:
        return renderer(reason)
    if reason.code.startswith(ReasonCode.NEW_ENTITY_SEGMENT_PREFIX):
        return _new_entity(reason)
    if reason.code.startswith("SPECIAL_STATUS_"):
        return _special(reason)
    return reason.code
