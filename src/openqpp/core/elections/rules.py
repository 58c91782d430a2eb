"""The election rules (2019 and 2022 election guides, 2019 FAQ, mips-rules.md §3).

:func:`check_election` decides one request and returns an :class:`Approval` or raises the
refusal (:mod:`openqpp.core.elections.errors`). It checks, in this order, so that a request with
several problems gets the one a person can act on first:

1. the level: individual (TIN/NPI) and group (TIN) elections are made by a practice
   representative or a registry; an APM entity's only by its signed letter, which the operator
   records, and only in years whose policy ``elections.apm_entity_opt_in_allowed``; a virtual
   group never elects here (it elects when it forms);
2. the decision: opt-in or voluntary;
3. the window: ``opens <= now < effective close`` (America/New_York instants); APM entity
   letters are returned after the September and December notifications, before the window
   opens, so for them only the close applies (docs/decisions/0004);
4. an election the entity already has (final; a virtual group election that lists an opt-in
   eligible group counts as the group's opt-in where policy
   ``elections.virtual_group_election_is_opt_in``);
5. opt-in eligibility at the entity's level in the determination run relied on;
6. the pathway: never a voluntary APP election (policy ``elections.app_voluntary_allowed``);
   no MVP for an opt-in eligible entity where policy
   ``elections.mvp_available_to_opt_in_eligible`` is false;
7. the typed confirmation: CONFIRM, not case sensitive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from openqpp.core.common import PerformanceYear
from openqpp.core.elections.errors import (
    AlreadyElected,
    ConfirmationRequired,
    ElectionNotAuthorised,
    InvalidDecision,
    NotOptInEligible,
    PathwayNotAvailable,
    WindowClosed,
    WindowNotOpenYet,
    WrongLevel,
)
from openqpp.core.elections.model import (
    ActorKind,
    Authority,
    Channel,
    ElectionKind,
    ElectionRequest,
    ElectionSource,
    Eligibility,
    Entity,
    ExistingElection,
    Pathway,
)
from openqpp.core.elections.window import Window, WindowState
from openqpp.core.eligibility import Level, Status
from openqpp.policy import Policy

CONFIRMATION_WORD: Final = "CONFIRM"


class Param:
    """Dotted paths of the policy parameters the election rules read."""

    WINDOW: Final = "elections.window"
    APM_ENTITY_OPT_IN: Final = "elections.apm_entity_opt_in_allowed"
    APP_VOLUNTARY: Final = "elections.app_voluntary_allowed"
    MVP_OPT_IN_ELIGIBLE: Final = "elections.mvp_available_to_opt_in_eligible"
    VIRTUAL_GROUP_OPT_IN: Final = "elections.virtual_group_election_is_opt_in"


def confirmed(typed: str | None) -> bool:
    """Whether the person typed CONFIRM ("This text field is not case sensitive")."""
    return (typed or "").strip().casefold() == CONFIRMATION_WORD.casefold()


# ---------------------------------------------------------------- consequences


@dataclass(frozen=True, slots=True)
class Consequences:
    """What an election means for the entity (2019 guide, "Opting-In vs. Voluntary Reporting";
    2019 FAQ: an opted-in entity gets a final score and payment adjustment "even if no data is
    submitted")."""

    kind: ElectionKind
    performance_year: int
    payment_year: int
    payment_adjustment: bool
    adjustment_without_data: bool
    """The adjustment applies even when no data is submitted."""
    performance_feedback: bool
    included_in_benchmarks: bool
    publicly_reported: bool
    may_opt_out_of_public_reporting: bool
    """During the public reporting preview period (voluntary reporters only)."""

    @property
    def points(self) -> tuple[str, ...]:
        """The consequences as the guides list them."""
        year = self.payment_year
        if self.kind is ElectionKind.OPT_IN:
            return (
                f"You will receive a MIPS final score and a {year} payment adjustment (positive, "
                "negative or neutral), even if no data is submitted.",
                "You will receive performance feedback.",
                "Your data will be included in measure benchmark calculations.",
                "Your data will be made available for public reporting.",
            )
        return (
            f"You will not receive a {year} payment adjustment.",
            "You will receive performance feedback for informational purposes.",
            "Your data will not be included in measure benchmark calculations.",
            "Your data will be made available for public reporting, unless you opt out during "
            "the public reporting preview period.",
        )


def consequences(kind: ElectionKind, policy: Policy) -> Consequences:
    if kind is ElectionKind.NO_DECISION:
        raise InvalidDecision(
            "'No decision' is not an election.",
            fix="Choose Opt-In or Report Voluntarily; to make no election, make no request.",
        )
    opt_in = kind is ElectionKind.OPT_IN
    return Consequences(
        kind=kind,
        performance_year=policy.year,
        payment_year=PerformanceYear(policy.year).payment_year,
        payment_adjustment=opt_in,
        adjustment_without_data=opt_in,
        performance_feedback=True,
        included_in_benchmarks=opt_in,
        publicly_reported=True,
        may_opt_out_of_public_reporting=not opt_in,
    )


def receives_payment_adjustment(election: ExistingElection | None, status: Status | None) -> bool:
    """Whether an entity gets a MIPS payment adjustment: MIPS eligible ones do; opt-in eligible
    ones only after opting in (then even with no data); voluntary reporters never."""
    if status is Status.ELIGIBLE:
        return True
    return election is not None and election.kind is ElectionKind.OPT_IN


def included_in_benchmarks(election: ExistingElection | None, status: Status | None) -> bool:
    """Voluntary reporters' data is excluded from measure benchmark calculations."""
    return receives_payment_adjustment(election, status)


# ---------------------------------------------------------------- virtual groups


def virtual_group_election(
    eligibility: Eligibility, entity: Entity, policy: Policy
) -> ExistingElection | None:
    """The opt-in a virtual group election implies for an opt-in eligible group it lists
    (2022 guide: "A virtual group election that includes the listing of such group confirms
    such group's election to opt-in"), where policy says so; else None."""
    if (
        entity.level is Level.GROUP
        and eligibility.virtual_group_id
        and eligibility.status is Status.OPT_IN_ELIGIBLE
        and policy.elections.virtual_group_election_is_opt_in
    ):
        return ExistingElection(
            kind=ElectionKind.OPT_IN,
            source=ElectionSource.VIRTUAL_GROUP,
            decided_at=None,
            virtual_group_id=eligibility.virtual_group_id,
        )
    return None


# ---------------------------------------------------------------- the checks


def check_level(entity: Entity, authority: Authority, policy: Policy) -> None:
    year = policy.year
    if entity.level is Level.VIRTUAL_GROUP:
        raise WrongLevel(
            f"A virtual group does not make an opt-in or voluntary reporting election here "
            f"({entity.describe()}).",
            fix="A virtual group elects when it forms, before the performance year; its election "
            "counts as the opt-in of the opt-in eligible groups it lists. Elect for a TIN or "
            "TIN/NPI instead.",
        )
    if entity.level is Level.APM_ENTITY:
        if not policy.elections.apm_entity_opt_in_allowed:
            raise WrongLevel(
                f"APM entities can't opt in to MIPS for performance year {year} "
                f"({entity.describe()}).",
                fix="Opt-in eligible clinicians (TIN/NPI) and groups (TIN) in the APM entity can "
                "still elect for themselves.",
            )
        if authority.kind is not ActorKind.OPERATOR:
            raise ElectionNotAuthorised(
                f"An APM entity opts in by returning its signed opt-in letter, not here "
                f"({entity.describe()}).",
                fix="Sign and return the opt-in letter; the operator records it with "
                "`openqpp elections record-apm-letter`.",
            )
        return
    if authority.kind is ActorKind.OPERATOR:
        raise ElectionNotAuthorised(
            f"The operator records only APM entities' signed letters; {entity.describe()} "
            "elects through its practice representatives or its registry.",
            fix="Ask the practice's Security Official or staff, or its authorised registry, to "
            "make the election.",
        )


def check_window(window: Window, now: dt.datetime, *, channel: Channel) -> None:
    state = window.state(now)
    year = window.performance_year
    if state is WindowState.CLOSED:
        raise WindowClosed(
            f"The {year} election window {window.deadline(now)}; no election can be made "
            "after it closes.",
            fix="Elections for this performance year are over. An opt-in eligible entity that "
            "made no election stays exempt.",
        )
    if state is WindowState.NOT_OPEN_YET and channel is not Channel.APM_LETTER:
        raise WindowNotOpenYet(
            f"The {year} election window is not open yet: it {window.deadline(now)}.",
            fix=f"Come back when it opens ({window.when(window.opens)}); nothing was recorded.",
        )


def already_elected(
    entity: Entity, existing: ExistingElection, window: Window | None = None
) -> AlreadyElected:
    if existing.source is ElectionSource.VIRTUAL_GROUP:
        message = (
            f"{entity.describe()} is already opted in: it is listed in the election of virtual "
            f"group {existing.virtual_group_id}, which counts as its opt-in election."
        )
    else:
        when = ""
        if existing.decided_at is not None:
            when = (
                window.when(existing.decided_at)
                if window is not None
                else existing.decided_at.isoformat(timespec="seconds")
            )
        message = (
            f"{entity.describe()} already has an election for this performance year: "
            f"{existing.kind.label}" + (f", confirmed {when}" if when else "") + "."
        )
    return AlreadyElected(
        message,
        fix="An election is final and cannot be changed or deleted; nothing else is needed.",
        existing=existing,
    )


def check_eligibility(entity: Entity, eligibility: Eligibility) -> None:
    year = eligibility.performance_year
    run = f"determination run {year}:{eligibility.run_number}"
    if eligibility.status is None:
        raise NotOptInEligible(
            f"{entity.describe()} has no result in {run}, so it is not opt-in eligible.",
            fix="Check the TIN and NPI: an election is possible only for a clinician or practice "
            "that billed Medicare Part B in the determination period and is opt-in eligible.",
        )
    if eligibility.status is not Status.OPT_IN_ELIGIBLE:
        what = (
            "is MIPS eligible and must report; it needs no election"
            if eligibility.status is Status.ELIGIBLE
            else "is exempt from MIPS and cannot opt in"
        )
        raise NotOptInEligible(
            f"{entity.describe()} is not opt-in eligible as {_level_phrase(entity.level)} in "
            f"{run}: it {what}.",
            fix="Only clinicians and groups that exceed one or two, but not all three, "
            "low-volume threshold criteria can opt in or elect to report voluntarily. Check "
            "the Participation Status for why.",
        )


def _level_phrase(level: Level) -> str:
    return {
        Level.INDIVIDUAL: "an individual (TIN/NPI)",
        Level.GROUP: "a group (TIN)",
        Level.APM_ENTITY: "an APM entity",
        Level.VIRTUAL_GROUP: "a virtual group",
    }[level]


def check_pathway(kind: ElectionKind, pathway: Pathway, policy: Policy) -> None:
    """Whether an opt-in eligible entity with this election may report this pathway. The
    submissions domain calls this too before it takes data for an elected entity."""
    year = policy.year
    if pathway is Pathway.APP and not policy.elections.app_available:
        raise PathwayNotAvailable(
            f"The APM Performance Pathway (APP) does not exist for {year}; it starts with the "
            "2021 performance year.",
            fix="Report traditional MIPS for this year.",
        )
    if (
        pathway is Pathway.APP
        and kind is ElectionKind.VOLUNTARY
        and not policy.elections.app_voluntary_allowed
    ):
        raise PathwayNotAvailable(
            f"You can't voluntarily report the APM Performance Pathway (APP) for {year}.",
            fix="Opt in to report the APP, or report voluntarily through traditional MIPS.",
        )
    if pathway is Pathway.MVP and not policy.elections.mvp_available_to_opt_in_eligible:
        raise PathwayNotAvailable(
            f"MIPS Value Pathways (MVPs) are not available to opt-in eligible clinicians and "
            f"groups for {year}.",
            fix="Report traditional MIPS (or, after opting in, the APP if you are in a MIPS APM).",
        )


def check_confirmation(typed: str | None, kind: ElectionKind) -> None:
    if not confirmed(typed):
        raise ConfirmationRequired(
            f'To confirm {kind.noun}, type "{CONFIRMATION_WORD}" in the box.',
            fix=f"Type {CONFIRMATION_WORD} (capital or small letters) and submit again. This "
            "election is permanent and cannot be changed later.",
        )


@dataclass(frozen=True, slots=True)
class Approval:
    """An election that may be recorded now."""

    entity: Entity
    kind: ElectionKind
    pathway: Pathway
    performance_year: int
    run_number: int
    decided_at: dt.datetime
    status_at_election: Status
    consequences: Consequences
    confirmation_text: str


def check_election(
    request: ElectionRequest,
    *,
    policy: Policy,
    eligibility: Eligibility,
    existing: ExistingElection | None,
    authority: Authority,
    now: dt.datetime,
    channel: Channel = Channel.WEB,
) -> Approval:
    """Allow ``request`` at ``now`` or raise the refusal (see the module docstring)."""
    entity = request.entity
    check_level(entity, authority, policy)
    if request.kind not in (ElectionKind.OPT_IN, ElectionKind.VOLUNTARY):
        raise InvalidDecision(
            f"{request.kind.label} is not an election.",
            fix="Choose Opt-In or Report Voluntarily; to make no election, make no request.",
        )
    if entity.level is Level.APM_ENTITY and request.kind is not ElectionKind.OPT_IN:
        raise InvalidDecision(
            "An APM entity can only elect to opt in (its letter has no voluntary reporting "
            "option).",
            fix="Record the letter as an opt-in election.",
        )
    window = Window.for_policy(policy)
    check_window(window, now, channel=channel)
    if existing is None:
        existing = virtual_group_election(eligibility, entity, policy)
    if existing is not None:
        raise already_elected(entity, existing, window)
    check_eligibility(entity, eligibility)
    check_pathway(request.kind, request.pathway, policy)
    check_confirmation(request.typed_confirmation, request.kind)
    assert eligibility.status is not None
    return Approval(
        entity=entity,
        kind=request.kind,
        pathway=request.pathway,
        performance_year=policy.year,
        run_number=eligibility.run_number,
        decided_at=now,
        status_at_election=eligibility.status,
        consequences=consequences(request.kind, policy),
        confirmation_text=request.typed_confirmation.strip()[:100],
    )
