"""Manual entry (attestation) of Promoting Interoperability and Improvement Activities data
(2019 data submission user guide, "Manual Entry (Attestation)" for PI and IA).

PI: a performance period, the CMS EHR Certification ID (the year's format,
``scoring.pi.cehrt_id_pattern``), the required attestation statements (``scoring.pi.
required_attestations``; "You must select Yes for the 2 required attestations before you can
begin entering your measure data"), then each PI measure of the year from the measures data
(``proportion`` -> numerator and denominator, ``boolean`` -> yes or no) with its exclusions.
When the entity's PI is reweighted to 0% (a special status the year lists in ``scoring.pi.
reweighted_special_statuses``) the person first confirms that entering data overrides the
reweighting ("click Yes, I Agree then Continue").

IA: a performance period, the year's activities searched and filtered by weight and
subcategory, each marked completed; the in-progress points (the scoring rule's own
:func:`openqpp.core.scoring.ia.score_ia`, through :func:`ia_points`) and the 40-point cap message.

What is stored. A manual entry is a core :class:`Submission` with one measurement set of
``submissionMethod`` ``attestation`` and ``source`` ``attestation`` (CMS's measurement set
``source`` field; 42 CFR 414.1325 names attestation as a data submission mechanism for PI and
IA). Files and the API cannot send that method (the QPP JSON schema leaves it out, the upload
refuses it), so the manual entry stays a set of its own beside the practice's uploaded sets,
and PI data "through multiple submission types (ex. Manual entry and file upload)" can be told
apart (:func:`openqpp.core.submissions.combine.pi_conflicts`). It goes through
:func:`openqpp.services.submissions.store.accept` (``channel="web"``, ``operation="attest"``),
after the validation engine: the IA entry merges by activity (``Mode.MERGE``; activities
un-ticked are stored as ``false``, activities filtered out of view are kept); the PI entry is
always the whole form, so it replaces the practice's previous PI manual entry
(``Mode.REPLACE``): a measure cleared or swapped for its exclusion must not survive.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from sqlalchemy.orm import Session

from openqpp.core.access import AccessError
from openqpp.core.errors import Finding, OpenQppError
from openqpp.core.scoring.context import ScoringContext, SpecialStatus
from openqpp.core.scoring.ia import score_ia
from openqpp.core.submissions import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    Proportion,
    Submission,
    SubmissionMethod,
)
from openqpp.core.submissions.acceptance import DataRefused, Mode, SubmissionInvalid
from openqpp.core.submissions.combine import pi_conflicts
from openqpp.db.models import MeasurementSetRow
from openqpp.measures import ImprovementActivity, MeasuresYear, PiMeasure
from openqpp.policy import Policy
from openqpp.services import audit
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import policy_for
from openqpp.services.elections.pages import ElectionPage, election_page
from openqpp.services.submissions import store
from openqpp.services.submissions.overview import (
    IA_DOUBLING,
    PageEntity,
    page_entity,
    set_labels,
    submission_row,
    year_measures,
)

ATTESTATION_SOURCE: Final = "attestation"
STATEMENT_OBJECTIVES: Final = frozenset({"attestation", "protectPatientHealthInformation"})
OBJECTIVE_TITLES: Final[dict[str, str]] = {
    "electronicPrescribing": "e-Prescribing",
    "healthInformationExchange": "Health Information Exchange",
    "providerToPatientExchange": "Provider to Patient Exchange",
    "publicHealthAndClinicalDataExchange": "Public Health and Clinical Data Exchange",
}
SUBCATEGORY_TITLES: Final[dict[str, str]] = {
    "achievingHealthEquity": "Achieving Health Equity",
    "behavioralAndMentalHealth": "Behavioral and Mental Health",
    "beneficiaryEngagement": "Beneficiary Engagement",
    "careCoordination": "Care Coordination",
    "emergencyResponseAndPreparedness": "Emergency Response and Preparedness",
    "expandedPracticeAccess": "Expanded Practice Access",
    "patientSafetyAndPracticeAssessment": "Patient Safety and Practice Assessment",
    "populationManagement": "Population Management",
}
PCMH: Final = "IA_PCMH"
_ID: Final = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class AttestationUnavailable(OpenQppError):
    """The year has no measures data installed, so the manual entry cannot list anything."""

    code = "OQ-SUB-211"
    http_status = 503


def _words(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", camel).capitalize()


def _measures(year: int) -> MeasuresYear:
    found = year_measures(year)
    if found is None:
        raise AttestationUnavailable(
            f"No measures data is installed for performance year {year}, so the manual entry "
            "cannot list the year's measures and activities.",
            fix="Ask the operator to install the year's qpp-measures-data (`openqpp data "
            "install`, or OPENQPP_MEASURES_DATA).",
        )
    return found


# ---------------------------------------------------------------- shared


@dataclass(frozen=True, slots=True)
class Base:
    """What both manual entry pages know: the entity, the people, the stored data."""

    election: ElectionPage
    entity: PageEntity
    policy: Policy
    measures: MeasuresYear
    submitter_key: str
    own: MeasurementSet | None
    """The practice's (or this submitter's) previous manual entry for the category."""
    others: tuple[MeasurementSet, ...]
    """Every other visible set of the category (other submitters, other types)."""
    other_labels: tuple[str, ...]
    all_sets: tuple[MeasurementSet, ...]
    """Every visible set of the category, the manual entry included."""
    all_labels: tuple[str, ...]

    @property
    def overview_path(self) -> str:
        return self.election.entity_path + "/reporting"

    @property
    def name(self) -> str:
        return self.election.name

    @property
    def year(self) -> int:
        return self.entity.year


def _base(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None,
    category: Category,
    now: dt.datetime,
) -> Base:
    """The entity's page (view_eligibility), then submit_data for it (AccessError if not)."""
    election = election_page(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    entity = page_entity(election.year, str(election.entity.tin), election.entity.npi)
    acting = store.acting_for(
        session, principal=principal, submission=entity.empty_submission(), now=now
    )
    measures = _measures(entity.year)
    row = submission_row(session, entity)
    own = None
    others: list[MeasurementSetRow] = []
    rows: list[MeasurementSetRow] = []
    if row is not None:
        visible = store.visible_sets(session, principal=principal, row=row, now=now)
        rows = [r for r in visible.sets if r.category == category.value]
        for r in rows:
            if (
                r.submitter_key == acting.submitter.key
                and r.submission_method == SubmissionMethod.ATTESTATION.value
            ):
                own = store.set_from_row(r)
            else:
                others.append(r)
    labels = set_labels(session, rows, election.practice.name)
    return Base(
        election=election,
        entity=entity,
        policy=policy_for(entity.year),
        measures=measures,
        submitter_key=acting.submitter.key,
        own=own,
        others=tuple(store.set_from_row(r) for r in others),
        other_labels=tuple(label for r, label in zip(rows, labels, strict=True) if r in others),
        all_sets=tuple(store.set_from_row(r) for r in rows),
        all_labels=tuple(labels),
    )


def _date(raw: str) -> dt.date | None:
    text = (raw or "").strip()
    if not text:
        return None
    return dt.date.fromisoformat(text)


def _period_errors(
    start_raw: str, end_raw: str
) -> tuple[dt.date | None, dt.date | None, dict[str, str]]:
    errors: dict[str, str] = {}
    parsed: list[dt.date | None] = []
    for key, raw, what in (
        ("performance-start", start_raw, "start"),
        ("performance-end", end_raw, "end"),
    ):
        try:
            value = _date(raw)
        except ValueError:
            value = None
            errors[key] = f"Enter the performance period {what} date as a date (YYYY-MM-DD)."
        else:
            if value is None:
                errors[key] = f"Enter the performance period {what} date."
        parsed.append(value)
    return parsed[0], parsed[1], errors


_PERIOD_PATHS: Final = {
    "performanceStart": "performance-start",
    "performanceEnd": "performance-end",
    "cehrtId": "cehrt-id",
}


def _findings_to_fields(
    findings: Sequence[Finding], fields_by_index: Sequence[str], errors: dict[str, str]
) -> None:
    """The validation engine's errors, each on the form field its JSONPath points at."""
    for finding in findings:
        if not finding.is_error:
            continue
        path = finding.location.path or ""
        target = "error-summary"
        match = re.match(r"^\$\.measurementSets\[0\]\.measurements\[(\d+)\]", path)
        if match and int(match.group(1)) < len(fields_by_index):
            target = fields_by_index[int(match.group(1))]
        else:
            for key, field_id in _PERIOD_PATHS.items():
                if path.endswith("." + key):
                    target = field_id
        errors.setdefault(target, f"{finding.message} ({finding.code})")


def _store(
    session: Session,
    *,
    principal: Principal,
    submission: Submission,
    mode: Mode,
    context: audit.RequestContext,
    now: dt.datetime,
    fields_by_index: Sequence[str],
    errors: dict[str, str],
) -> store.Accepted | None:
    """Validate and store the manual entry; on refusal put the reasons in ``errors``."""
    try:
        store.validate(submission, source="manual entry")
    except SubmissionInvalid as exc:
        _findings_to_fields(exc.findings, fields_by_index, errors)
        return None
    try:
        return store.accept(
            session,
            principal=principal,
            submission=submission,
            context=context,
            channel="web",
            operation="attest",
            mode=mode,
            validated=True,
            now=now,
        )
    except (DataRefused, AccessError) as exc:
        errors.setdefault("error-summary", f"{exc.message} {exc.fix} ({exc.code})")
        return None


def _submission(entity: PageEntity, measurement_set: MeasurementSet) -> Submission:
    return Submission(
        performance_year=entity.year,
        entity_type=EntityType.INDIVIDUAL if entity.npi else EntityType.GROUP,
        tin=entity.tin,
        npi=entity.npi,
        measurement_sets=(measurement_set,),
    )


def _error_list(errors: Mapping[str, str], order: Sequence[str]) -> list[dict[str, str]]:
    """The errors in the order of the form's fields (the error summary's order)."""
    rank = {field_id: i for i, field_id in enumerate(order)}
    ordered = sorted(errors.items(), key=lambda item: rank.get(item[0], -1))
    return [{"field": k, "message": v} for k, v in ordered]


# ---------------------------------------------------------------- PI


@dataclass(frozen=True, slots=True)
class ExclusionOption:
    measure_id: str
    title: str
    description: str | None


@dataclass(frozen=True, slots=True)
class PiField:
    """One PI measure (or attestation statement) on the form, with what is entered."""

    measure_id: str
    title: str
    description: str | None
    kind: str
    """``proportion`` (numerator and denominator) or ``boolean`` (yes or no)."""
    required: bool
    bonus: bool
    exclusions: tuple[ExclusionOption, ...] = ()
    answer: str = ""
    numerator: str = ""
    denominator: str = ""
    exclusion: str = ""
    any_answer: bool = False
    """Statements a "no" also completes (SAFER Guides 2022-2023)."""

    @property
    def slug(self) -> str:
        return self.measure_id.lower().replace("_", "-")

    @property
    def first_field(self) -> str:
        """The id the error summary links to."""
        if self.kind == "proportion":
            return f"numerator-{self.slug}"
        return f"answer-{self.slug}-yes"

    @property
    def reported(self) -> bool:
        return bool(self.answer or self.numerator or self.denominator)


@dataclass(frozen=True, slots=True)
class Objective:
    key: str
    title: str
    measures: tuple[PiField, ...]


@dataclass(frozen=True, slots=True)
class Progress:
    label: str
    done: bool


@dataclass(frozen=True, slots=True)
class PiPage:
    base: Base
    reweighted: tuple[str, ...]
    confirmed_reweighting: bool
    performance_start: str
    performance_end: str
    min_days: int
    cehrt_id: str
    cehrt_pattern: str
    statements: tuple[PiField, ...]
    objectives: tuple[Objective, ...]
    progress: tuple[Progress, ...]
    conflict: str | None
    errors: list[dict[str, str]] = field(default_factory=list)
    saved: bool = False

    @property
    def post_path(self) -> str:
        return self.base.overview_path + "/pi"

    @property
    def has_entry(self) -> bool:
        return self.base.own is not None

    @property
    def other_sources(self) -> tuple[str, ...]:
        return self.base.other_labels

    @property
    def cehrt_example(self) -> str:
        """``0015EXXXXXXXXXX`` (``0015C...`` when the year accepts Cures Update IDs only)."""
        cures_only = "15C" in self.cehrt_pattern and "E" not in self.cehrt_pattern
        return "0015" + ("C" if cures_only else "E") + "X" * 10


def _exclusions_of(measure: PiMeasure, pool: Sequence[PiMeasure]) -> tuple[ExclusionOption, ...]:
    """The measure's exclusions: listed in the measures data (``exclusion``), named after it
    (``PI_PHCDRR_1_EX_1``), or titled "<its title> Exclusion" (2019's PI_LVITC_2 / PI_CUITC_1)."""
    linked = {e.upper() for e in measure.exclusion}
    title = f"{measure.title.strip()} Exclusion".casefold()
    found = [
        e
        for e in pool
        if e.measure_id.upper() in linked
        or e.measure_id.upper().startswith(measure.measure_id.upper() + "_EX")
        or e.title.strip().casefold() == title
    ]
    return tuple(ExclusionOption(e.measure_id, e.title, e.description) for e in found)


def _pi_catalogue(
    policy: Policy, measures: MeasuresYear
) -> tuple[list[PiMeasure], dict[str, list[PiMeasure]], list[PiMeasure]]:
    """(statements, measures by objective, exclusions) of the year."""
    required = {m.upper() for m in policy.scoring.pi.required_attestations}
    everything = [m for m in measures.iter_measures() if isinstance(m, PiMeasure)]
    statements = [
        m
        for m in everything
        if m.measure_id.upper() in required or (m.objective or "") in STATEMENT_OBJECTIVES
    ]
    statements.sort(key=lambda m: (m.measure_id.upper() not in required, m.measure_id))
    exclusions = [m for m in everything if m.reporting_category == "exclusion"]
    chosen = {m.measure_id for m in statements} | {m.measure_id for m in exclusions}
    objectives: dict[str, list[PiMeasure]] = {}
    for m in everything:
        if m.measure_id not in chosen:
            objectives.setdefault(m.objective or "other", []).append(m)
    return statements, objectives, exclusions


def _kind(measure: PiMeasure) -> str:
    return "proportion" if measure.metric_type == "proportion" else "boolean"


def _yes_no(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return ""


def _pi_fields(
    base: Base, form: Mapping[str, str] | None
) -> tuple[tuple[PiField, ...], tuple[Objective, ...]]:
    """The statements and measures, filled from the form, else from the stored entry."""
    statements, objectives, exclusions = _pi_catalogue(base.policy, base.measures)
    any_answer = {m.upper() for m in base.policy.scoring.pi.any_answer_attestations}
    required = {m.upper() for m in base.policy.scoring.pi.required_attestations}
    stored = {m.measure_id.upper(): m.value for m in (base.own.measurements if base.own else ())}

    def filled(measure: PiMeasure, options: tuple[ExclusionOption, ...] = ()) -> PiField:
        slug = measure.measure_id.lower().replace("_", "-")
        kind = _kind(measure)
        if form is not None:
            answer = form.get(f"answer-{slug}", "").strip().lower()
            numerator = form.get(f"numerator-{slug}", "").strip()
            denominator = form.get(f"denominator-{slug}", "").strip()
            exclusion = form.get(f"exclusion-{slug}", "").strip()
        else:
            value = stored.get(measure.measure_id.upper())
            answer = _yes_no(value)
            numerator = str(value.numerator) if isinstance(value, Proportion) else ""
            denominator = str(value.denominator) if isinstance(value, Proportion) else ""
            exclusion = next(
                (o.measure_id for o in options if stored.get(o.measure_id.upper()) is True), ""
            )
        return PiField(
            measure_id=measure.measure_id,
            title=measure.title,
            description=measure.description,
            kind=kind,
            required=measure.measure_id.upper() in required or measure.is_required,
            bonus=measure.is_bonus,
            exclusions=options,
            answer=answer if answer in ("yes", "no") else "",
            numerator=numerator[:12],
            denominator=denominator[:12],
            exclusion=exclusion if exclusion in {o.measure_id for o in options} else "",
            any_answer=measure.measure_id.upper() in any_answer,
        )

    statement_fields = tuple(filled(m) for m in statements)
    objective_views = []
    for key, items in objectives.items():
        objective_views.append(
            Objective(
                key=key,
                title=OBJECTIVE_TITLES.get(key, _words(key)),
                measures=tuple(filled(m, _exclusions_of(m, exclusions)) for m in items),
            )
        )
    return statement_fields, tuple(objective_views)


def _reweighted(base: Base) -> tuple[str, ...]:
    view = base.election.view
    if view is None:
        return ()
    listed = set(base.policy.scoring.pi.reweighted_special_statuses)
    return tuple(s.display for s in view.special_statuses if s.value in listed)


def _pi_progress(base: Base) -> tuple[Progress, ...]:
    """The guide's "indicator as each requirement is completed", from the stored entry."""
    own = base.own
    values = {m.measure_id.upper(): m.value for m in (own.measurements if own else ())}
    required = [m.upper() for m in base.policy.scoring.pi.required_attestations]
    any_answer = {m.upper() for m in base.policy.scoring.pi.any_answer_attestations}
    statements_done = bool(own) and all(
        values.get(m) is True or (m in any_answer and values.get(m) is False) for m in required
    )
    reported = [k for k in values if k not in required]
    return (
        Progress(
            "Performance period entered",
            bool(own and own.performance_start and own.performance_end),
        ),
        Progress("CMS EHR Certification ID entered", bool(own and own.cehrt_id)),
        Progress("Required attestation statements answered Yes", statements_done),
        Progress(f"Measures and exclusions entered: {len(reported)}", bool(reported)),
    )


def _pi_page(
    base: Base,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    saved: bool = False,
) -> PiPage:
    statements, objectives = _pi_fields(base, form)
    own = base.own
    if form is not None:
        start = form.get("performance_start", "").strip()[:10]
        end = form.get("performance_end", "").strip()[:10]
        cehrt = form.get("cehrt_id", "").strip()[:40]
        confirmed = form.get("confirm_reweighting", "") == "yes"
    else:
        start = own.performance_start.isoformat() if own and own.performance_start else ""
        end = own.performance_end.isoformat() if own and own.performance_end else ""
        cehrt = own.cehrt_id or "" if own else ""
        confirmed = own is not None
    order = ["error-summary", "confirm-reweighting", "performance-start", "performance-end"]
    order += ["cehrt-id", *(s.first_field for s in statements)]
    order += [m.first_field for o in objectives for m in o.measures]
    return PiPage(
        base=base,
        reweighted=_reweighted(base),
        confirmed_reweighting=confirmed,
        performance_start=start,
        performance_end=end,
        min_days=base.policy.scoring.pi.performance_period_days,
        cehrt_id=cehrt,
        cehrt_pattern=base.policy.scoring.pi.cehrt_id_pattern,
        statements=statements,
        objectives=objectives,
        progress=_pi_progress(base),
        conflict=pi_conflicts(base.all_sets, measures=base.measures, labels=base.all_labels)
        if len(base.all_sets) > 1
        else None,
        errors=_error_list(errors or {}, order),
        saved=saved,
    )


def pi_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
    saved: bool = False,
) -> PiPage:
    """The PI manual entry page, filled with the stored entry (needs ``submit_data``)."""
    base = _base(
        session, principal=principal, year=year, tin=tin, npi=npi, category=Category.PI, now=now
    )
    return _pi_page(base, saved=saved)


def _count(raw: str, label: str, field_id: str, errors: dict[str, str]) -> int | None:
    if not raw.isdigit():
        errors.setdefault(field_id, f"Enter the {label} as a whole number of 0 or more.")
        return None
    return int(raw)


def _pi_measurements(page: PiPage, errors: dict[str, str]) -> tuple[list[Measurement], list[str]]:
    """The form's statements, measures and exclusions as measurements (with each one's field),
    checking what the form alone can tell."""
    measurements: list[Measurement] = []
    fields: list[str] = []
    must_be_yes = []
    for statement in page.statements:
        if statement.answer:
            measurements.append(Measurement(statement.measure_id, statement.answer == "yes"))
            fields.append(statement.first_field)
        elif statement.required:
            errors[statement.first_field] = (
                f"Answer the required statement {statement.measure_id} ({statement.title})."
            )
        if statement.required and not statement.any_answer and statement.answer != "yes":
            must_be_yes.append(statement)
    entered = False
    for objective in page.objectives:
        for measure in objective.measures:
            if measure.exclusion:
                entered = True
                if measure.reported:
                    errors[measure.first_field] = (
                        f"{measure.measure_id}: claim the exclusion {measure.exclusion} or report "
                        "the measure, not both."
                    )
                    continue
                measurements.append(Measurement(measure.exclusion, True))
                fields.append(f"exclusion-{measure.slug}-none")
                continue
            if measure.kind == "proportion":
                if not measure.numerator and not measure.denominator:
                    continue
                entered = True
                numerator = _count(
                    measure.numerator,
                    f"numerator of {measure.measure_id}",
                    f"numerator-{measure.slug}",
                    errors,
                )
                denominator = _count(
                    measure.denominator,
                    f"denominator of {measure.measure_id}",
                    f"denominator-{measure.slug}",
                    errors,
                )
                if numerator is not None and denominator is not None:
                    measurements.append(
                        Measurement(measure.measure_id, Proportion(numerator, denominator))
                    )
                    fields.append(measure.first_field)
            elif measure.answer:
                entered = True
                measurements.append(Measurement(measure.measure_id, measure.answer == "yes"))
                fields.append(measure.first_field)
    if entered:
        for statement in must_be_yes:
            errors.setdefault(
                statement.first_field,
                f"Select Yes for {statement.measure_id} ({statement.title}) before entering "
                "measure data: every required attestation must be answered Yes first.",
            )
    return measurements, fields


def save_pi(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    form: Mapping[str, str],
    context: audit.RequestContext,
    now: dt.datetime,
) -> PiOutcome:
    """Store the PI manual entry, or give the page back with every problem in the error
    summary (nothing is stored then)."""
    base = _base(
        session, principal=principal, year=year, tin=tin, npi=npi, category=Category.PI, now=now
    )
    page = _pi_page(base, form=form)
    errors: dict[str, str] = {}
    if page.reweighted and not page.confirmed_reweighting:
        errors["confirm-reweighting"] = (
            "Confirm that you want to enter PI data: your Promoting Interoperability category is "
            "weighted at 0% (" + ", ".join(page.reweighted) + "), and entering any data, "
            "including the performance period, overrides the reweighting."
        )
    start, end, period_errors = _period_errors(page.performance_start, page.performance_end)
    errors.update(period_errors)
    if not page.cehrt_id:
        errors["cehrt-id"] = "Enter your CMS EHR Certification ID (CEHRT ID)."
    elif re.fullmatch(page.cehrt_pattern, page.cehrt_id) is None:
        errors["cehrt-id"] = (
            f"The CMS EHR Certification ID {page.cehrt_id!r} does not have the {base.year} "
            f"format: 15 upper-case letters or digits like {page.cehrt_example} (pattern "
            f"{page.cehrt_pattern}). Copy the ID exactly as ONC's CHPL shows it."
        )
    measurements, fields = _pi_measurements(page, errors)
    if not errors:
        measurement_set = MeasurementSet(
            category=Category.PI,
            submission_method=SubmissionMethod.ATTESTATION,
            measurements=tuple(measurements),
            performance_start=start,
            performance_end=end,
            cehrt_id=page.cehrt_id,
            source=ATTESTATION_SOURCE,
        )
        accepted = _store(
            session,
            principal=principal,
            submission=_submission(base.entity, measurement_set),
            mode=Mode.REPLACE,
            context=context,
            now=now,
            fields_by_index=fields,
            errors=errors,
        )
        if accepted is not None:
            return PiOutcome(redirect_to=page.post_path + "?saved=1")
    return PiOutcome(page=_pi_page(base, form=form, errors=errors), status_code=422)


@dataclass(frozen=True, slots=True)
class PiOutcome:
    redirect_to: str | None = None
    page: PiPage | None = None
    status_code: int = 200


# ---------------------------------------------------------------- IA


@dataclass(frozen=True, slots=True)
class IaPoints:
    """The in-progress Improvement Activities points, as the scoring rule gives them."""

    points: Decimal
    cap: Decimal
    explanation: str

    @property
    def capped(self) -> bool:
        return self.points >= self.cap


def ia_points(
    sets: Sequence[MeasurementSet],
    *,
    year: int,
    entity_type: EntityType,
    special_statuses: Sequence[str],
) -> IaPoints | None:
    """In-progress IA points of the entity's IA sets: the one place the pages ask for them.

    It calls the scoring rule (:func:`openqpp.core.scoring.ia.score_ia`); None when the year
    has no measures data."""
    measures = year_measures(year)
    if measures is None:
        return None
    known = {s.value for s in SpecialStatus}
    context = ScoringContext(
        entity_type=entity_type,
        special_statuses=frozenset(SpecialStatus(s) for s in special_statuses if s in known),
    )
    node = score_ia(sets, policy=policy_for(year), measures=measures, context=context)
    return IaPoints(node.points, Decimal(node.maximum or 0), node.explanation)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    measure_id: str
    title: str
    description: str | None
    subcategory: str | None
    subcategory_title: str
    weight: str | None
    completed: bool

    @property
    def slug(self) -> str:
        return self.measure_id.lower().replace("_", "-")

    @property
    def weight_title(self) -> str:
        return {"high": "High", "medium": "Medium"}.get(self.weight or "", "No weight")


@dataclass(frozen=True, slots=True)
class IaPage:
    base: Base
    performance_start: str
    performance_end: str
    min_days: int
    query: str
    weight: str
    subcategory: str
    subcategories: tuple[tuple[str, str], ...]
    weights: tuple[tuple[str, str], ...]
    activities: tuple[ActivityRow, ...]
    total: int
    completed: tuple[str, ...]
    points: IaPoints | None
    cap: int
    doubled: tuple[str, ...]
    multiplier: int
    errors: list[dict[str, str]] = field(default_factory=list)
    saved: bool = False

    @property
    def post_path(self) -> str:
        return self.base.overview_path + "/ia"

    @property
    def cap_message(self) -> str:
        return (
            f"You cannot earn more than {self.cap} points in this category, even if you submit "
            "additional activities."
        )

    @property
    def has_entry(self) -> bool:
        return self.base.own is not None

    @property
    def other_sources(self) -> tuple[str, ...]:
        return self.base.other_labels


def _activities(measures: MeasuresYear) -> list[ImprovementActivity]:
    items = [m for m in measures.iter_measures() if isinstance(m, ImprovementActivity)]
    # "The PCMH attestation is the first activity listed."
    return sorted(items, key=lambda a: (a.measure_id != PCMH, a.measure_id))


def _completed(sets: Sequence[MeasurementSet]) -> set[str]:
    return {m.measure_id.upper() for s in sets for m in s.measurements if m.value is True}


def _ia_page(
    base: Base,
    *,
    query: str = "",
    weight: str = "all",
    subcategory: str = "all",
    start: str | None = None,
    end: str | None = None,
    checked: set[str] | None = None,
    errors: Mapping[str, str] | None = None,
    saved: bool = False,
) -> IaPage:
    activities = _activities(base.measures)
    own_done = _completed([base.own] if base.own else [])
    done = own_done if checked is None else checked
    subcategories = sorted({a.subcategory_id for a in activities if a.subcategory_id})
    weights = sorted({a.weight for a in activities if a.weight})
    text = " ".join(query.split())[:100]
    chosen_weight = weight if weight in weights else "all"
    chosen_subcategory = subcategory if subcategory in subcategories else "all"
    shown = []
    for a in activities:
        if chosen_weight != "all" and a.weight != chosen_weight:
            continue
        if chosen_subcategory != "all" and a.subcategory_id != chosen_subcategory:
            continue
        haystack = f"{a.measure_id} {a.title} {a.description or ''}".casefold()
        if text and text.casefold() not in haystack:
            continue
        shown.append(
            ActivityRow(
                measure_id=a.measure_id,
                title=a.title,
                description=a.description,
                subcategory=a.subcategory_id,
                subcategory_title=SUBCATEGORY_TITLES.get(
                    a.subcategory_id or "", _words(a.subcategory_id or "other")
                ),
                weight=a.weight,
                completed=a.measure_id.upper() in done,
            )
        )
    own = base.own
    view = base.election.view
    statuses = tuple(s.value for s in view.special_statuses) if view else ()
    doubled = tuple(s.display for s in view.special_statuses if s in IA_DOUBLING) if view else ()
    everything = [*base.others, *([own] if own else [])]
    return IaPage(
        base=base,
        performance_start=start
        if start is not None
        else (own.performance_start.isoformat() if own and own.performance_start else ""),
        performance_end=end
        if end is not None
        else (own.performance_end.isoformat() if own and own.performance_end else ""),
        min_days=base.policy.scoring.ia.performance_period_days,
        query=text,
        weight=chosen_weight,
        subcategory=chosen_subcategory,
        subcategories=tuple((s, SUBCATEGORY_TITLES.get(s, _words(s))) for s in subcategories),
        weights=tuple((w, w.capitalize()) for w in weights),
        activities=tuple(shown),
        total=len(activities),
        completed=tuple(sorted(done)),
        points=ia_points(
            everything,
            year=base.year,
            entity_type=base.entity.entity_type,
            special_statuses=statuses,
        )
        if everything
        else None,
        cap=base.policy.scoring.ia.cap,
        doubled=doubled,
        multiplier=base.policy.scoring.ia.special_status_multiplier,
        errors=_error_list(errors or {}, ["error-summary", "performance-start", "performance-end"]),
        saved=saved,
    )


def ia_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
    query: str = "",
    weight: str = "all",
    subcategory: str = "all",
    saved: bool = False,
) -> IaPage:
    """The IA manual entry page: activities searched and filtered, the stored entry ticked."""
    base = _base(
        session, principal=principal, year=year, tin=tin, npi=npi, category=Category.IA, now=now
    )
    return _ia_page(base, query=query, weight=weight, subcategory=subcategory, saved=saved)


@dataclass(frozen=True, slots=True)
class IaOutcome:
    redirect_to: str | None = None
    page: IaPage | None = None
    status_code: int = 200


def save_ia(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    performance_start: str,
    performance_end: str,
    shown: Sequence[str],
    completed: Sequence[str],
    query: str = "",
    weight: str = "all",
    subcategory: str = "all",
    context: audit.RequestContext,
    now: dt.datetime,
) -> IaOutcome:
    """Store the activities marked completed (and un-ticked ones as not performed) of the
    activities shown; activities filtered out of view keep what they had."""
    base = _base(
        session, principal=principal, year=year, tin=tin, npi=npi, category=Category.IA, now=now
    )
    shown_ids = [s for s in dict.fromkeys(shown) if _ID.match(s)][:1000]
    ticked = {c.upper() for c in completed if _ID.match(c)}
    before = _completed([base.own] if base.own else [])
    start, end, errors = _period_errors(performance_start, performance_end)
    measurements = []
    for activity_id in shown_ids:
        key = activity_id.upper()
        if key in ticked:
            measurements.append(Measurement(activity_id, True))
        elif key in before:
            measurements.append(Measurement(activity_id, False))
    checked = (before - {s.upper() for s in shown_ids}) | (ticked & {s.upper() for s in shown_ids})
    fields = [f"completed-{m.measure_id.lower().replace('_', '-')}" for m in measurements]
    if not errors:
        measurement_set = MeasurementSet(
            category=Category.IA,
            submission_method=SubmissionMethod.ATTESTATION,
            measurements=tuple(measurements),
            performance_start=start,
            performance_end=end,
            source=ATTESTATION_SOURCE,
        )
        accepted = _store(
            session,
            principal=principal,
            submission=_submission(base.entity, measurement_set),
            mode=Mode.MERGE,
            context=context,
            now=now,
            fields_by_index=fields,
            errors=errors,
        )
        if accepted is not None:
            query_string = _filters(query, weight, subcategory)
            return IaOutcome(redirect_to=f"{base.overview_path}/ia?saved=1{query_string}")
    page = _ia_page(
        base,
        query=query,
        weight=weight,
        subcategory=subcategory,
        start=performance_start.strip()[:10],
        end=performance_end.strip()[:10],
        checked=checked,
        errors=errors,
    )
    return IaOutcome(page=page, status_code=422)


def _filters(query: str, weight: str, subcategory: str) -> str:
    from urllib.parse import urlencode

    params = {
        k: v
        for k, v in (("q", query.strip()), ("weight", weight), ("subcategory", subcategory))
        if v and v != "all"
    }
    return ("&" + urlencode(params)) if params else ""
