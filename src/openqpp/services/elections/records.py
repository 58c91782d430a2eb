"""Making elections: one entity from the pages (:func:`confirm`), one or many from the API
(:func:`submit`, all or nothing), each final and exactly once, audited in the same
transaction; and reading election status the Eligibility API's way (:func:`opt_in_statuses`).

Exactly once: a unique constraint on (performance year, level, entity) decides races. The
election row is inserted first thing in a SAVEPOINT (on SQLite the write lock is taken there,
waiting up to the busy timeout), so of many concurrent attempts one inserts and the others get
the constraint's error, which becomes "already elected" with the election that won.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openqpp.core.access import Action
from openqpp.core.common import PerformanceYear, Tin
from openqpp.core.elections import (
    AlreadyElected,
    Approval,
    Channel,
    ElectionKind,
    ElectionNotAuthorised,
    ElectionRefused,
    ElectionRequest,
    Entity,
    ExistingElection,
    IdempotencyKeyReused,
    InvalidDecision,
    InvalidElectionRequest,
    Pathway,
    already_elected,
    check_election,
    check_level,
)
from openqpp.core.eligibility import Level, Status
from openqpp.core.errors import InvalidValue, OpenQppError
from openqpp.db.models import DeterminationRun, Election, IdempotencyRecord, Organisation
from openqpp.services import audit, mail, notifications
from openqpp.services.access.authorize import practice_directory
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import (
    Acting,
    ElectionFacts,
    ElectionInfo,
    acting,
    begin_writes,
    election_facts,
    election_info,
    election_row,
    entity_from,
    iso,
    policy_for,
    provisional_authority,
    run_for,
    window_for,
)
from openqpp.services.eligibility_lookup import (
    ScenarioView,
    existing_election,
    find_run,
    latest_run,
    scenario_views,
    years_with_runs,
)

MAX_ENTITIES = 100
MAX_IDEMPOTENCY_KEY = 200


# ---------------------------------------------------------------- one election


@dataclass(frozen=True, slots=True)
class Decided:
    """A request that passed every rule, ready to record."""

    approval: Approval
    acting: Acting
    run: DeterminationRun
    practice_id: int | None


def decide(
    session: Session,
    *,
    principal: Principal,
    request: ElectionRequest,
    year: int,
    now: dt.datetime,
    channel: Channel,
    run: DeterminationRun | None = None,
    facts: ElectionFacts | None = None,
) -> Decided:
    """Every rule for one request, in the core's order; raises the refusal. ``run``: the year's
    newest run when the caller already read it; ``facts``: what the rules ask about the
    entity, when the caller read them for many entities at once (:func:`election_facts`)."""
    policy = policy_for(year)
    entity = request.entity
    check_level(entity, provisional_authority(principal), policy)
    directory = (
        facts.directory
        if facts is not None
        else practice_directory(session, [entity.tin] if entity.tin else [])
    )
    who = acting(session, principal=principal, entity=entity, year=year, now=now,
                 directory=directory)  # fmt: skip
    run = run or run_for(session, year)
    if facts is None:
        facts = election_facts(session, run, year, [entity], directory=directory)
    approval = check_election(
        request,
        policy=policy,
        eligibility=facts.eligibility(run, entity),
        existing=facts.existing(entity),
        authority=who.authority,
        now=now,
        channel=channel,
    )
    return Decided(approval, who, run, facts.practice_id(entity))


class RaceLost(Exception):
    """Another request elected for an entity between the rules' check and the insert: the
    entity at ``position`` of the batch, and its "already elected" refusal."""

    def __init__(self, position: int, error: AlreadyElected) -> None:
        super().__init__(error.message)
        self.position = position
        self.error = error


def insert_elections(
    session: Session,
    decided: Sequence[Decided],
    *,
    principal: Principal,
    channel: Channel,
    request_id: str | None,
    on_behalf_of_id: int | None = None,
) -> list[Election]:
    """Insert the elections in one SAVEPOINT (one multi-row INSERT); when a concurrent winner
    holds one of the entities, nothing is inserted and :class:`RaceLost` names the first."""
    rows = [
        _election_row(
            d, principal=principal, channel=channel, request_id=request_id,
            on_behalf_of_id=on_behalf_of_id,
        )
        for d in decided
    ]  # fmt: skip
    begin_writes(session)
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError:
        for position, item in enumerate(decided):
            entity = item.approval.entity
            year = item.approval.performance_year
            winner = election_row(session, year, entity)
            if winner is not None:
                error = already_elected(entity, existing_election(winner), window_for(year))
                raise RaceLost(position, error) from None
        raise  # pragma: no cover - the constraint names only (year, level, entity)
    return rows


def record_elections(
    session: Session,
    decided: Sequence[Decided],
    *,
    principal: Principal,
    channel: Channel,
    context: audit.RequestContext,
) -> list[tuple[Election, Decided]]:
    """:func:`insert_elections` and their audit records, flushed together (:class:`RaceLost`
    when another request took one of the entities: nothing is recorded)."""
    rows = insert_elections(
        session, decided, principal=principal, channel=channel, request_id=context.request_id
    )
    recorded = list(zip(rows, decided, strict=True))
    for row, item in recorded:
        audit_election(session, row, item, principal=principal, context=context, flush=False)
    session.flush()
    return recorded


def insert_election(
    session: Session,
    decided: Decided,
    *,
    principal: Principal,
    channel: Channel,
    request_id: str | None,
    on_behalf_of_id: int | None = None,
) -> Election:
    """:func:`insert_elections` of one; a concurrent winner makes it "already elected"."""
    try:
        (row,) = insert_elections(
            session, [decided], principal=principal, channel=channel,
            request_id=request_id, on_behalf_of_id=on_behalf_of_id,
        )  # fmt: skip
    except RaceLost as lost:
        raise lost.error from None
    return row


def _election_row(
    decided: Decided,
    *,
    principal: Principal,
    channel: Channel,
    request_id: str | None,
    on_behalf_of_id: int | None,
) -> Election:
    approval = decided.approval
    entity = approval.entity
    return Election(
        performance_year=approval.performance_year,
        level=entity.level.value,
        entity_key=entity.key,
        tin=entity.tin,
        npi=entity.npi,
        apm_entity_id=entity.identifier if entity.level is Level.APM_ENTITY else None,
        kind=approval.kind.value,
        pathway=approval.pathway.value,
        decided_at=approval.decided_at,
        determination_run_id=decided.run.id,
        run_number=decided.run.run_number,
        status_at_election=approval.status_at_election.value,
        actor=principal.actor,
        actor_name=principal.name[:200],
        role=decided.acting.role,
        actor_kind=decided.acting.authority.kind.value,
        acting_organisation_id=decided.acting.acting_organisation_id,
        on_behalf_of_organisation_id=on_behalf_of_id or decided.practice_id,
        channel=channel.value,
        confirmation_text=approval.confirmation_text,
        request_id=request_id,
    )


def audit_election(
    session: Session,
    row: Election,
    decided: Decided,
    *,
    principal: Principal,
    context: audit.RequestContext,
    flush: bool = True,
) -> None:
    """The election's audit record; ``flush=False`` when the caller flushes many at once."""
    entity = decided.approval.entity
    if entity.level is Level.APM_ENTITY:
        on_behalf = audit.OnBehalfOf(
            "apm_entity", str(entity.identifier), organisation_id=row.on_behalf_of_organisation_id
        )
    else:
        on_behalf = audit.OnBehalfOf.practice(
            str(entity.tin), npi=entity.npi, organisation_id=decided.practice_id
        )
    acting_org = decided.acting.acting_organisation_id
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=decided.acting.role,
        on_behalf_of=on_behalf,
        action="election.confirmed",
        object_type="election",
        object_id=row.id,
        after={
            "performance_year": row.performance_year,
            "level": row.level,
            "entity": row.entity_key,
            "kind": row.kind,
            "pathway": row.pathway,
            "run": f"{row.performance_year}:{row.run_number}",
            "channel": row.channel,
            "confirmation": row.confirmation_text,
            "actor_kind": row.actor_kind,
        },
        acting_organisation_id=acting_org if acting_org != decided.practice_id else None,
        at=row.decided_at,
        flush=flush,
    )


def notify_intermediary_elections(
    session: Session,
    recorded: Sequence[tuple[Election, Decided]],
    *,
    principal: Principal,
    mailer: mail.SmtpMailer | None,
    now: dt.datetime,
) -> None:
    """A registry elected for a client practice: tell the practice, once per practice."""
    by_practice: dict[int, list[tuple[Election, Decided]]] = {}
    for row, decided in recorded:
        if decided.acting.via_registry and decided.practice_id is not None:
            by_practice.setdefault(decided.practice_id, []).append((row, decided))
    new: list[notifications.NewNotification] = []
    for practice_id, items in by_practice.items():
        practice = session.get(Organisation, practice_id)
        registry = session.get(Organisation, items[0][1].acting.acting_organisation_id or 0)
        if practice is None:
            continue
        registry_name = registry.name if registry else "A registry"
        year = items[0][0].performance_year
        lines = [
            f"- {Entity(Level(r.level), tin=r.tin, npi=r.npi).describe()}: "
            f"{ElectionKind(r.kind).label}"
            for r, _ in items
        ]
        title = (
            f"{registry_name} made {len(items)} election{'s' if len(items) != 1 else ''} for "
            f"{practice.name} (performance year {year})"
        )
        payment_year = PerformanceYear(year).payment_year
        body = (
            f"{registry_name} ({principal.name}, {items[0][1].acting.role or 'registry'}) "
            f"confirmed these elections for {practice.name} on "
            f"{items[0][0].decided_at:%Y-%m-%d %H:%M} UTC:\n"
            + "\n".join(lines)
            + "\n\nElections are final and cannot be changed. An opt-in election means a "
            f"MIPS final score and a {payment_year} payment adjustment, even if no data is "
            "submitted; voluntary reporting means performance feedback and no adjustment.\n"
            "If your practice did not ask for these elections, contact the registry and the "
            "operator of this server."
        )
        link = f"/eligibility-reporting/{year}/practices/{practice.identifier}"
        new.append(
            notifications.NewNotification(
                organisation_id=practice_id,
                category="election",
                title=title,
                body=body,
                link=link,
                election_id=items[0][0].id,
            )
        )
    notifications.notify_many(session, new, mailer=mailer, now=now)


# ---------------------------------------------------------------- idempotency


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    text = key.strip()
    if not text or len(text) > MAX_IDEMPOTENCY_KEY or not text.isprintable():
        raise InvalidElectionRequest(
            "The Idempotency-Key is empty, too long or has control characters.",
            fix=f"Send a unique printable key of 1 to {MAX_IDEMPOTENCY_KEY} characters per "
            "request (a UUID is ideal), and the same key when you repeat that request.",
        )
    return text


def stored_response(
    session: Session, *, scope: str, key: str | None, fingerprint_: str
) -> Replay | None:
    """The stored response for (caller, key); a different request under the key is refused."""
    if key is None:
        return None
    row = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    if row is None:
        return None
    if row.fingerprint != fingerprint_:
        raise IdempotencyKeyReused(
            f"The Idempotency-Key {key!r} was already used for a different request.",
            fix="Use a new key for a new request; repeat a request only with exactly the same "
            "body and the key you first sent it with.",
        )
    return Replay(row.status_code, dict(row.body))


def store_response(
    session: Session,
    *,
    scope: str,
    key: str | None,
    fingerprint_: str,
    status_code: int,
    body: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Keep the answer under (caller, key), in the request's transaction. Without a SAVEPOINT
    (two round trips on PostgreSQL): a key taken meanwhile by a concurrent request fails the
    flush, and with it the whole transaction, which the refusal then rolls back."""
    if key is None:
        return
    begin_writes(session)
    session.flush()  # the request's own rows first, so a failure below is the key's
    session.add(
        IdempotencyRecord(
            scope=scope[:120],
            key=key,
            fingerprint=fingerprint_,
            status_code=status_code,
            body=body,
            created_at=now,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise IdempotencyKeyReused(
            f"The Idempotency-Key {key!r} was used for another request at the same time.",
            fix="Use a new key for each new request.",
        ) from None


# ---------------------------------------------------------------- from the pages


@dataclass(frozen=True, slots=True)
class Confirmed:
    election: ElectionInfo
    replayed: bool = False


def confirm(
    session: Session,
    *,
    principal: Principal,
    year: int,
    level: Level | str,
    tin: str,
    npi: str | None = None,
    kind: ElectionKind | str,
    typed: str,
    now: dt.datetime,
    context: audit.RequestContext,
    pathway: Pathway = Pathway.TRADITIONAL_MIPS,
    idempotency_key: str | None = None,
    mailer: mail.SmtpMailer | None = None,
    channel: Channel = Channel.WEB,
) -> Confirmed:
    """Confirm one election for a practice (``level`` group) or one of its clinicians
    (``individual``), as the "Are you sure?" page does. Raises the refusal; a repeated form
    with the same ``idempotency_key`` returns the election it made."""
    election_kind = _kind(kind)
    entity = entity_from(level, tin=tin, npi=npi)
    scope = f"{principal.actor}|web"
    key = check_key(idempotency_key)
    print_ = fingerprint(
        {
            "op": "confirm",
            "year": year,
            "entity": entity.key,
            "level": entity.level.value,
            "kind": election_kind.value,
            "pathway": pathway.value,
        }
    )
    replay = stored_response(session, scope=scope, key=key, fingerprint_=print_)
    if replay is not None:
        return Confirmed(_election_by_id(session, int(replay.body["electionId"])), True)
    request = ElectionRequest(entity, election_kind, typed, pathway)
    try:
        decided = decide(
            session, principal=principal, request=request, year=year, now=now, channel=channel
        )
        row = insert_election(
            session, decided, principal=principal, channel=channel, request_id=context.request_id
        )
    except AlreadyElected:
        replay = stored_response(session, scope=scope, key=key, fingerprint_=print_)
        if replay is not None:
            return Confirmed(_election_by_id(session, int(replay.body["electionId"])), True)
        raise
    audit_election(session, row, decided, principal=principal, context=context)
    notify_intermediary_elections(
        session, [(row, decided)], principal=principal, mailer=mailer, now=now
    )
    store_response(
        session,
        scope=scope,
        key=key,
        fingerprint_=print_,
        status_code=303,
        body={"electionId": row.id},
        now=now,
    )
    return Confirmed(election_info(session, row))


def _election_by_id(session: Session, election_id: int) -> ElectionInfo:
    row = session.get(Election, election_id)
    assert row is not None  # elections are never deleted
    return election_info(session, row)


def _kind(raw: ElectionKind | str) -> ElectionKind:
    kind = raw if isinstance(raw, ElectionKind) else ElectionKind.parse(raw)
    if kind not in (ElectionKind.OPT_IN, ElectionKind.VOLUNTARY):
        raise InvalidDecision(
            f"{raw!r} is not an election decision.",
            fix="Use opt_in (Opt-In) or voluntary (Report Voluntarily).",
        )
    return kind


def _pathway(raw: object) -> Pathway:
    if raw is None or raw == "":
        return Pathway.TRADITIONAL_MIPS
    text = str(raw).strip().lower().replace("-", "_")
    try:
        return Pathway(text)
    except ValueError:
        known = ", ".join(p.value for p in Pathway)
        raise InvalidDecision(
            f"{raw!r} is not a reporting pathway.", fix=f"Use one of: {known}."
        ) from None


# ---------------------------------------------------------------- the API


@dataclass(frozen=True, slots=True)
class EntityOutcome:
    """One entity of an API request: what was asked, and the election or the refusal."""

    index: int
    tin: str | None
    npi: str | None
    decision: str | None
    election: ElectionInfo | None = None
    error: OpenQppError | None = None

    def as_error_detail(self) -> dict[str, Any]:
        tin = self.tin
        if tin and isinstance(self.error, ElectionNotAuthorised):
            tin = Tin(tin).masked  # a practice the caller may not act for, as in the message
        detail: dict[str, Any] = {
            "path": f"$.data[{self.index}]",
            "tin": tin,
            "npi": self.npi,
            "decision": self.decision,
        }
        if self.error is not None:
            detail |= {
                "outcome": "refused",
                "code": self.error.code,
                "message": f"{self.error.message} {self.error.fix}".strip(),
            }
            existing = getattr(self.error, "existing", None)
            if isinstance(existing, ExistingElection):
                detail["existing"] = {
                    "decision": existing.kind.value,
                    "optInDecisionDate": iso(existing.decided_at),
                    "via": existing.source.value,
                    "virtualGroupId": existing.virtual_group_id,
                }
        else:
            detail |= {
                "outcome": "not_recorded",
                "message": "Valid, but nothing was recorded because another entity in this "
                "request was refused: a request is recorded all or nothing.",
            }
        return detail


class ElectionsRefused(ElectionRefused):
    """Some entity of an API request was refused, so none was recorded (all or nothing);
    ``outcomes`` has one entry per entity, in request order. The code is the refusal's own when
    every refused entity has the same one, else OQ-ELECT-100; the status is 403 when any was not
    authorised, 409 when all were already elected, 400 for malformed entities only, else 422."""

    code = "OQ-ELECT-100"

    def __init__(self, outcomes: Sequence[EntityOutcome]) -> None:
        refused = [o for o in outcomes if o.error is not None]
        self.outcomes = tuple(outcomes)
        codes = sorted({o.error.code for o in refused if o.error is not None})
        if len(codes) == 1:
            self.code = codes[0]
        statuses = {getattr(o.error, "http_status", 400) for o in refused}
        if 403 in statuses:
            self.http_status = 403
        elif statuses == {409}:
            self.http_status = 409
        elif statuses == {400}:
            self.http_status = 400
        else:
            self.http_status = 422
        noun = "entity was" if len(outcomes) == 1 else "entities were"
        super().__init__(
            f"{len(refused)} of {len(outcomes)} {noun} refused ({', '.join(codes)}), so no "
            "election in this request was recorded.",
            fix="Fix or remove the refused entities (see details) and send the request again.",
        )

    @property
    def details(self) -> list[dict[str, Any]]:
        return [o.as_error_detail() for o in self.outcomes]


@dataclass(frozen=True, slots=True)
class SubmitItem:
    """One entity of ``PUT /api/eligibility/opt-in`` as sent."""

    tin: object
    npi: object = None
    decision: object = None
    is_opted_in: object = None
    pathway: object = None


@dataclass(frozen=True, slots=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    elections: tuple[ElectionInfo, ...] = field(default_factory=tuple)


def _parse_item(index: int, item: SubmitItem) -> tuple[EntityOutcome, ElectionRequest | None]:
    raw_tin = None if item.tin is None else str(item.tin)
    raw_npi = None if item.npi in (None, "") else str(item.npi)
    try:
        if item.decision is not None and item.is_opted_in is not None:
            raise InvalidDecision(
                "Both decision and isOptedIn were sent.",
                fix='Send one: "decision": "opt_in" | "voluntary" (or "isOptedIn": true | false).',
            )
        if item.decision is None and item.is_opted_in is None:
            raise InvalidDecision(
                "No decision was sent.",
                fix='Add "decision": "opt_in" or "voluntary" to each entity.',
            )
        if item.decision is not None:
            kind = _kind(str(item.decision))
        elif isinstance(item.is_opted_in, bool):
            kind = ElectionKind.OPT_IN if item.is_opted_in else ElectionKind.VOLUNTARY
        else:
            raise InvalidDecision(
                "isOptedIn must be true (opt in) or false (report voluntarily).",
                fix='Send "isOptedIn": true or false, or "decision": "opt_in" | "voluntary".',
            )
        level = Level.INDIVIDUAL if raw_npi else Level.GROUP
        entity = entity_from(level, tin=raw_tin, npi=raw_npi)
        pathway = _pathway(item.pathway)
    except (InvalidValue, ElectionRefused) as exc:
        outcome = EntityOutcome(index, raw_tin, raw_npi, _decision_text(item), error=exc)
        return outcome, None
    outcome = EntityOutcome(index, entity.tin, entity.npi, kind.value)
    return outcome, ElectionRequest(entity, kind, "", pathway)


def _decision_text(item: SubmitItem) -> str | None:
    if item.decision is not None:
        return str(item.decision)
    if isinstance(item.is_opted_in, bool):
        return "opt_in" if item.is_opted_in else "voluntary"
    return None


def submit(
    session: Session,
    *,
    principal: Principal,
    items: Sequence[SubmitItem],
    year: int | None,
    typed: str | None,
    now: dt.datetime,
    context: audit.RequestContext,
    idempotency_key: str | None = None,
    mailer: mail.SmtpMailer | None = None,
) -> Submitted:
    """Elections for one or many TIN and TIN/NPI entities from the API, all or nothing.

    ``year`` defaults to the year whose election window is open at ``now`` (else the newest
    year with a determination). ``typed`` is the request's ``confirm`` (CONFIRM). Raises
    :class:`ElectionsRefused` with one outcome per entity when any is refused.
    """
    key = check_key(idempotency_key)
    if not items:
        raise InvalidElectionRequest(
            "The request lists no entities.",
            fix='Send {"data": [{"tin": "123456789", "npi": "1234567893", "decision": '
            '"opt_in"}], "confirm": "CONFIRM"}.',
        )
    if len(items) > MAX_ENTITIES:
        raise InvalidElectionRequest(
            f"The request lists {len(items)} entities; at most {MAX_ENTITIES} are allowed.",
            fix=f"Split it into requests of at most {MAX_ENTITIES} entities.",
        )
    chosen_year = int(PerformanceYear(year)) if year is not None else default_year(session, now)
    parsed = [_parse_item(i, item) for i, item in enumerate(items)]
    scope = f"{principal.actor}|api"
    print_ = fingerprint(
        {
            "op": "submit",
            "year": chosen_year,
            "confirm": (typed or "").strip().casefold(),
            "items": [
                [o.tin, o.npi, o.decision, str(getattr(r, "pathway", ""))] for o, r in parsed
            ],
        }
    )
    replay = stored_response(session, scope=scope, key=key, fingerprint_=print_)
    if replay is not None:
        return Submitted(replay.status_code, replay.body, replayed=True)
    seen: dict[str, int] = {}
    outcomes: list[EntityOutcome] = []
    decided: list[tuple[EntityOutcome, Decided]] = []
    try:
        run: DeterminationRun | None = run_for(session, chosen_year)
    except OpenQppError:
        run = None  # each entity meets the refusal in decide, after its own earlier checks
    facts = election_facts(
        session, run, chosen_year, [r.entity for _, r in parsed if r is not None]
    )
    for outcome, request in parsed:
        if request is None:
            outcomes.append(outcome)
            continue
        key_of = f"{request.entity.level.value}:{request.entity.key}"
        if key_of in seen:
            outcomes.append(
                _refused(
                    outcome,
                    InvalidElectionRequest(
                        f"{request.entity.describe()} is listed twice (also at "
                        f"$.data[{seen[key_of]}]).",
                        fix="List each TIN and TIN/NPI once per request.",
                    ),
                )
            )
            continue
        seen[key_of] = outcome.index
        full = ElectionRequest(request.entity, request.kind, typed or "", request.pathway)
        try:
            result = decide(
                session,
                principal=principal,
                request=full,
                year=chosen_year,
                now=now,
                channel=Channel.API,
                run=run,
                facts=facts,
            )
        except OpenQppError as exc:
            outcomes.append(_refused(outcome, exc))
            continue
        outcomes.append(outcome)
        decided.append((outcome, result))
    if any(o.error is not None for o in outcomes):
        replay = stored_response(session, scope=scope, key=key, fingerprint_=print_)
        if replay is not None:
            return Submitted(replay.status_code, replay.body, replayed=True)
        raise ElectionsRefused(outcomes)
    try:
        recorded = record_elections(
            session,
            [result for _, result in decided],
            principal=principal,
            channel=Channel.API,
            context=context,
        )
    except RaceLost as lost:
        replay = stored_response(session, scope=scope, key=key, fingerprint_=print_)
        if replay is not None:
            return Submitted(replay.status_code, replay.body, replayed=True)
        lost_index = decided[lost.position][0].index
        raise ElectionsRefused(
            [_refused(o, lost.error) if o.index == lost_index else o for o in outcomes]
        ) from None
    notify_intermediary_elections(session, recorded, principal=principal, mailer=mailer, now=now)
    infos = tuple(election_info(session, row, opted_out=False) for row, _ in recorded)
    run = recorded[0][1].run
    body = {"data": [opt_in_item_from_election(info, run) for info in infos]}
    store_response(
        session, scope=scope, key=key, fingerprint_=print_, status_code=200, body=body, now=now
    )
    return Submitted(200, body, elections=infos)


def _refused(outcome: EntityOutcome, error: OpenQppError) -> EntityOutcome:
    return EntityOutcome(outcome.index, outcome.tin, outcome.npi, outcome.decision, error=error)


def default_year(session: Session, now: dt.datetime) -> int:
    """The performance year whose election window is open at ``now``, else the newest year
    with a determination run."""
    years = years_with_runs(session)
    for year in sorted(years, reverse=True):
        if window_for(year).is_open(now):
            return year
    if years:
        return max(years)
    return int(latest_run(session, None).performance_year)


# ---------------------------------------------------------------- reading (GET opt-in)


def _explanation(view: ScenarioView | None, run: DeterminationRun) -> dict[str, Any]:
    if view is None:
        return {
            "status": None,
            "statusText": "No result in the determination",
            "reasons": [
                f"This entity has no result in determination run "
                f"{run.performance_year}:{run.run_number}: it did not bill Medicare Part B "
                "under this TIN in the determination period."
            ],
            "election": None,
        }
    election = view.election
    return {
        "status": view.status.value,
        "statusText": view.display,
        "reasons": view.reason_texts,
        "election": None
        if election is None
        else {
            "decision": election.kind.value,
            "via": election.source.value,
            "virtualGroupId": election.virtual_group_id,
            "electionId": election.election_id,
            "publicReportingOptOut": view.public_reporting_opt_out,
        },
    }


def opt_in_item(
    tin: str, npi: str | None, view: ScenarioView | None, run: DeterminationRun
) -> dict[str, Any]:
    """One entry of the opt-in read, in CMS's documented shape plus ``explanation``."""
    item: dict[str, Any] = {"tin": tin}
    if npi:
        item["npi"] = npi
    item |= {
        "isOptInEligible": view is not None and view.status is Status.OPT_IN_ELIGIBLE,
        "optInDecisionDate": iso(view.opt_in_decision_date) if view else None,
        "isOptedIn": view.is_opted_in if view else None,
        "year": run.performance_year,
        "runNum": run.run_number,
        "explanation": _explanation(view, run),
    }
    return item


def opt_in_item_from_election(info: ElectionInfo, run: DeterminationRun) -> dict[str, Any]:
    item: dict[str, Any] = {"tin": info.tin}
    if info.npi:
        item["npi"] = info.npi
    item |= {
        "isOptInEligible": True,
        "optInDecisionDate": iso(info.decided_at),
        "isOptedIn": info.kind is ElectionKind.OPT_IN,
        "year": info.performance_year,
        "runNum": info.run_number,
        "decision": info.kind.value,
        "pathway": info.pathway.value,
        "electionId": info.id,
        "explanation": {
            "status": Status.OPT_IN_ELIGIBLE.value,
            "statusText": "MIPS eligible via opt-in"
            if info.opted_in
            else "MIPS exempt · Reporting voluntarily",
            "election": info.as_dict(),
            "determinationRun": f"{run.performance_year}:{run.run_number}",
        },
    }
    return item


class OptInReadRefused(OpenQppError):
    """Some entities of an opt-in read may not be seen by the caller; nothing is answered."""

    http_status = 403
    code = "OQ-ACCESS-001"

    def __init__(self, details: list[dict[str, Any]]) -> None:
        self.details = details
        super().__init__(
            f"You may not see {len(details)} of the entities asked for.",
            fix="Ask only for TINs and TIN/NPIs of your practice, or of clients that "
            "authorised your registry for the performance year (see details).",
        )


def parse_entities_header(value: str | None) -> list[tuple[str, str | None]]:
    """``Qpp-Opt-In-Entities: TIN|NPI,TIN`` -> [(TIN, NPI), (TIN, None)] (validated)."""
    text = (value or "").strip()
    if not text:
        raise InvalidElectionRequest(
            "The Qpp-Opt-In-Entities header is missing or empty.",
            fix="Send 'Qpp-Opt-In-Entities: 000456789|1234567890,000987654': TIN|NPI for a "
            "clinician, TIN alone for a group, separated by commas.",
        )
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > MAX_ENTITIES:
        raise InvalidElectionRequest(
            f"The header lists {len(parts)} entities; at most {MAX_ENTITIES} are allowed.",
            fix=f"Ask for at most {MAX_ENTITIES} entities per request.",
        )
    out = []
    for part in parts:
        tin, _, npi = part.partition("|")
        entity = entity_from(
            Level.INDIVIDUAL if npi.strip() else Level.GROUP, tin=tin, npi=npi.strip() or None
        )
        out.append((str(entity.tin), entity.npi))
    return out


def opt_in_statuses(
    session: Session,
    *,
    principal: Principal,
    entities: Sequence[tuple[str, str | None]],
    year: int | None,
    run_number: int | None,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """``GET /api/eligibility/opt-in``: each entity's opt-in eligibility and election."""
    chosen_year = year if year is not None else default_year(session, now)
    refused = []
    for index, (tin, npi) in enumerate(entities):
        try:
            acting(
                session,
                principal=principal,
                entity=entity_from(Level.INDIVIDUAL if npi else Level.GROUP, tin=tin, npi=npi),
                year=chosen_year,
                now=now,
                action=Action.VIEW_ELIGIBILITY,
            )
        except ElectionRefused as exc:
            refused.append(
                {
                    "path": f"Qpp-Opt-In-Entities[{index}]",
                    "tin": Tin(tin).masked,  # a practice the caller may not see
                    "npi": npi,
                    "code": getattr(exc, "access_code", None) or exc.code,
                    "message": f"{exc.message} {exc.fix}",
                }
            )
    if refused:
        raise OptInReadRefused(refused)
    run = find_run(session, chosen_year, run_number)
    keys = [
        (Level.INDIVIDUAL.value, f"{tin}/{npi}") if npi else (Level.GROUP.value, tin)
        for tin, npi in entities
    ]
    views = scenario_views(session, run, keys)
    return [
        opt_in_item(tin, npi, views.get(key), run)
        for (tin, npi), key in zip(entities, keys, strict=True)
    ]
