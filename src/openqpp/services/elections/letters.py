"""APM entities opt in by signed letter (years whose policy allows it): the operator writes the
notification letters from the determination (:func:`apm_letters`) and records each returned,
signed letter as the entity's opt-in election with the scanned file (:func:`record_apm_letter`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.core.common import ApmEntityId, PerformanceYear
from openqpp.core.elections import (
    ELECTION_LINE,
    ApmLetterFacts,
    Channel,
    ElectionKind,
    ElectionRequest,
    Entity,
    LetterIncomplete,
    LetterRound,
    NotOptInEligible,
    Window,
    WrongLevel,
    apm_opt_in_letter,
)
from openqpp.core.eligibility import Criterion, Level, Status
from openqpp.db.models import (
    ApmElectionLetter,
    DeterminationRun,
    Election,
    EligibilityResultRow,
    Organisation,
    OrganisationKind,
    RunApmParticipant,
)
from openqpp.services import audit
from openqpp.services.access.principals import OPERATOR
from openqpp.services.elections.common import ElectionInfo, election_info, policy_for
from openqpp.services.elections.records import audit_election, decide, insert_election

MAX_LETTER_BYTES = 20 * 1024 * 1024
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
DEFAULT_RETURN_TO = "QualityPaymentProgramAPMHelpdesk@cms.hhs.gov"
"""Where the 2019 letter asks APM entities to email it; operators give their own address."""


def content_type(content: bytes) -> str | None:
    """The scanned letter's type from its first bytes (PDF, PNG, JPEG or TIFF), else None."""
    for signature, kind in _SIGNATURES:
        if content.startswith(signature):
            return kind
    return None


def _text(value: str, name: str, fix: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise LetterIncomplete(f"The letter's {name} is missing.", fix=fix)
    if len(text) > 200:
        raise LetterIncomplete(f"The letter's {name} is longer than 200 characters.", fix=fix)
    return text


def record_apm_letter(
    session: Session,
    *,
    year: int,
    apm_entity_id: str,
    printed_name: str,
    position: str,
    signed_on: dt.date,
    file_name: str,
    content: bytes,
    typed: str,
    now: dt.datetime,
    context: audit.RequestContext = audit.OPERATOR,
) -> ElectionInfo:
    """Record an APM entity's opt-in from its returned, signed letter (operator only), with the
    scanned letter's bytes and SHA-256. The same rules as every election apply (the year allows
    APM entity opt-in, the entity is opt-in eligible in the newest run, it has no election, the
    window has not closed), and the letter must be complete."""
    policy = policy_for(year)
    entity = Entity.apm_entity(str(ApmEntityId(apm_entity_id)))
    name = _text(printed_name, "printed name", "Give the name printed on the signed letter.")
    role = _text(position, "position", "Give the signer's position as written on the letter.")
    window = Window.for_policy(policy)
    today = window.local(now).date()
    if signed_on > today:
        raise LetterIncomplete(
            f"The signature date {signed_on.isoformat()} is in the future.",
            fix="Give the date written beside the signature (YYYY-MM-DD).",
        )
    if signed_on > window.local(window.closes).date():
        raise LetterIncomplete(
            f"The letter was signed on {signed_on.isoformat()}, after the {year} election "
            f"window closed ({window.when(window.closes)}).",
            fix="A letter signed after the window closed cannot be recorded.",
        )
    if not content:
        raise LetterIncomplete(
            "The scanned letter file is empty.", fix="Attach the scanned, signed letter."
        )
    if len(content) > MAX_LETTER_BYTES:
        raise LetterIncomplete(
            f"The scanned letter is {len(content):,} bytes; at most {MAX_LETTER_BYTES:,}.",
            fix="Scan it at a lower resolution or as a PDF.",
        )
    kind = content_type(content)
    if kind is None:
        raise LetterIncomplete(
            f"{file_name!r} is not a PDF, PNG, JPEG or TIFF file.",
            fix="Attach the scan of the signed letter as a PDF or an image.",
        )
    decided = decide(
        session,
        principal=OPERATOR,
        request=ElectionRequest(entity, ElectionKind.OPT_IN, typed),
        year=year,
        now=now,
        channel=Channel.APM_LETTER,
    )
    org = session.scalar(
        select(Organisation).where(
            Organisation.kind == OrganisationKind.APM_ENTITY,
            Organisation.identifier == entity.identifier,
        )
    )
    row = insert_election(
        session,
        decided,
        principal=OPERATOR,
        channel=Channel.APM_LETTER,
        request_id=context.request_id,
        on_behalf_of_id=org.id if org else None,
    )
    digest = hashlib.sha256(content).hexdigest()
    session.add(
        ApmElectionLetter(
            election_id=row.id,
            apm_entity_id=str(entity.identifier),
            printed_name=name,
            position=role,
            signed_on=signed_on,
            file_name=(file_name or "letter")[:255],
            content_type=kind,
            content_sha256=digest,
            size=len(content),
            content=content,
            recorded_at=now,
            recorded_by=OPERATOR.actor,
        )
    )
    session.flush()
    audit_election(session, row, decided, principal=OPERATOR, context=context)
    audit.record_in_context(
        session,
        context,
        actor=OPERATOR.actor,
        role=None,
        on_behalf_of=audit.OnBehalfOf(
            "apm_entity", str(entity.identifier), organisation_id=org.id if org else None
        ),
        action="election.apm_letter_recorded",
        object_type="election",
        object_id=row.id,
        after={
            "printed_name": name,
            "position": role,
            "signed_on": signed_on,
            "file": file_name,
            "sha256": digest,
            "size": len(content),
        },
        at=now,
    )
    return election_info(session, row)


@dataclass(frozen=True, slots=True)
class LetterInfo:
    election_id: int
    apm_entity_id: str
    printed_name: str
    position: str
    signed_on: dt.date
    file_name: str
    content_type: str
    content_sha256: str
    size: int


def letter_of(session: Session, election_id: int) -> LetterInfo | None:
    row = session.scalar(
        select(ApmElectionLetter).where(ApmElectionLetter.election_id == election_id)
    )
    if row is None:
        return None
    return LetterInfo(
        row.election_id,
        row.apm_entity_id,
        row.printed_name,
        row.position,
        row.signed_on,
        row.file_name,
        row.content_type,
        row.content_sha256,
        row.size,
    )


@dataclass(frozen=True, slots=True)
class GeneratedLetter:
    apm_entity_id: str
    entity_name: str
    file_name: str
    text: str


def _runs(session: Session, year: int) -> list[DeterminationRun]:
    return list(
        session.scalars(
            select(DeterminationRun)
            .where(DeterminationRun.performance_year == year)
            .order_by(DeterminationRun.run_number)
        )
    )


def _opt_in_eligible(session: Session, run: DeterminationRun) -> dict[str, EligibilityResultRow]:
    return {
        r.entity_key: r
        for r in session.scalars(
            select(EligibilityResultRow).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.level == Level.APM_ENTITY.value,
                EligibilityResultRow.status == Status.OPT_IN_ELIGIBLE.value,
            )
        )
    }


def apm_letters(
    session: Session,
    *,
    year: int,
    letter_round: LetterRound | str,
    return_to: str = DEFAULT_RETURN_TO,
) -> list[GeneratedLetter]:
    """The notification letter for each opt-in eligible APM entity of the round: ``september``
    from the year's first determination run, ``december`` from its newest run, for entities
    newly opt-in eligible there (not in the first run). Entities that already elected get none.
    """
    chosen = LetterRound(str(letter_round).strip().lower())
    policy = policy_for(int(PerformanceYear(year)))
    if not policy.elections.apm_entity_opt_in_allowed:
        raise WrongLevel(
            f"APM entities can't opt in to MIPS for performance year {year}, so there are no "
            "opt-in letters to send.",
            fix="Letters exist only for years whose policy allows APM entity opt-in (2019, 2020).",
        )
    runs = _runs(session, year)
    if not runs:
        raise NotOptInEligible(
            f"No determination has been loaded for performance year {year}.",
            fix="Run `openqpp eligibility determine --claims DIR --year Y` first.",
        )
    first, newest = runs[0], runs[-1]
    if chosen is LetterRound.SEPTEMBER:
        run, entities = first, _opt_in_eligible(session, first)
    else:
        notified = set(_opt_in_eligible(session, first))
        run = newest
        entities = {k: v for k, v in _opt_in_eligible(session, newest).items() if k not in notified}
    elected = set(
        session.scalars(
            select(Election.entity_key).where(
                Election.performance_year == year, Election.level == Level.APM_ENTITY.value
            )
        )
    )
    names = {
        o.identifier: o.name
        for o in session.scalars(
            select(Organisation).where(Organisation.kind == OrganisationKind.APM_ENTITY)
        )
    }
    letters = []
    for entity_id, row in sorted(entities.items()):
        if entity_id in elected:
            continue
        participants = list(
            session.scalars(
                select(RunApmParticipant).where(
                    RunApmParticipant.run_id == run.id,
                    RunApmParticipant.apm_entity_id == entity_id,
                )
            )
        )
        model = participants[0] if participants else None
        segment = (
            "s1_" if chosen is LetterRound.SEPTEMBER or row.s2_allowed_charges is None else "s2_"
        )
        facts = ApmLetterFacts(
            apm_entity_id=entity_id,
            entity_name=names.get(entity_id) or f"APM Entity {entity_id}",
            apm_name=model.apm_model if model else "your APM",
            advanced_apm=bool(model and model.advanced_apm),
            mips_apm=bool(model and model.mips_apm),
            beneficiaries=int(getattr(row, segment + "beneficiaries") or 0),
            allowed_charges=Decimal(getattr(row, segment + "allowed_charges") or 0),
            covered_services=int(getattr(row, segment + "covered_services") or 0),
            exceeded=tuple(Criterion(c) for c in filter(None, row.exceeded.split(","))),
            participants=len({p.npi for p in participants}),
        )
        text = apm_opt_in_letter(facts, policy=policy, letter_round=chosen, return_to=return_to)
        letters.append(
            GeneratedLetter(
                apm_entity_id=entity_id,
                entity_name=facts.entity_name,
                file_name=f"apm-opt-in-letter-{year}-{chosen.value}-{entity_id}.txt",
                text=text,
            )
        )
    return letters


__all__ = [
    "DEFAULT_RETURN_TO",
    "ELECTION_LINE",
    "GeneratedLetter",
    "LetterInfo",
    "apm_letters",
    "content_type",
    "letter_of",
    "record_apm_letter",
]
