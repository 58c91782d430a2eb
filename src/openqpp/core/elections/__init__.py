"""Opt-in and voluntary reporting elections: who may elect, when, for what, and what follows.

Pure rules (no I/O); every number and switch comes from the year's
:class:`~openqpp.policy.Policy` (``Policy.elections``).

* :func:`check_election`: one request decided at an explicit ``now`` (an :class:`Approval`, or
  a refusal from :mod:`openqpp.core.elections.errors`, each with its own code).
* :class:`Window`: the election window as exact instants, and the deadline in words.
* :func:`consequences`, :func:`receives_payment_adjustment`, :func:`included_in_benchmarks`:
  what opting in or reporting voluntarily means.
* :func:`virtual_group_election`: a virtual group election listing an opt-in eligible group is
  that group's opt-in.
* :func:`check_pathway`: never a voluntary APP election; no MVP for opt-in eligible entities
  where the year says so.
* :func:`score_for_payment_adjustment`: the higher final score of a clinician who opted in as an
  individual while the practice opted in as a group.
* :func:`apm_opt_in_letter`: the APM entity notification letter.
"""

from openqpp.core.elections.errors import (
    AlreadyElected,
    AlreadyOptedOutOfPublicReporting,
    ConfirmationRequired,
    ElectionNotAuthorised,
    ElectionRefused,
    IdempotencyKeyReused,
    InvalidDecision,
    InvalidElectionRequest,
    LetterIncomplete,
    NoElection,
    NotOptInEligible,
    NotVoluntaryReporter,
    OutsidePreviewPeriod,
    PathwayNotAvailable,
    WindowClosed,
    WindowNotOpenYet,
    WrongLevel,
)
from openqpp.core.elections.letters import (
    ELECTION_LINE,
    ApmLetterFacts,
    LetterRound,
    apm_opt_in_letter,
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
from openqpp.core.elections.rules import (
    CONFIRMATION_WORD,
    Approval,
    Consequences,
    Param,
    already_elected,
    check_confirmation,
    check_election,
    check_eligibility,
    check_level,
    check_pathway,
    check_window,
    confirmed,
    consequences,
    included_in_benchmarks,
    receives_payment_adjustment,
    virtual_group_election,
)
from openqpp.core.elections.scores import (
    ChosenScore,
    FinalScoreCandidate,
    ScoreSource,
    score_for_payment_adjustment,
)
from openqpp.core.elections.texts import (
    GROUP_NOTE,
    OPTED_IN_DISPLAY,
    VOLUNTARY_DISPLAY,
    participation_display,
)
from openqpp.core.elections.window import Window, WindowState, clock_time

__all__ = [
    "CONFIRMATION_WORD",
    "ELECTION_LINE",
    "GROUP_NOTE",
    "OPTED_IN_DISPLAY",
    "VOLUNTARY_DISPLAY",
    "ActorKind",
    "AlreadyElected",
    "AlreadyOptedOutOfPublicReporting",
    "ApmLetterFacts",
    "Approval",
    "Authority",
    "Channel",
    "ChosenScore",
    "ConfirmationRequired",
    "Consequences",
    "ElectionKind",
    "ElectionNotAuthorised",
    "ElectionRefused",
    "ElectionRequest",
    "ElectionSource",
    "Eligibility",
    "Entity",
    "ExistingElection",
    "FinalScoreCandidate",
    "IdempotencyKeyReused",
    "InvalidDecision",
    "InvalidElectionRequest",
    "LetterIncomplete",
    "LetterRound",
    "NoElection",
    "NotOptInEligible",
    "NotVoluntaryReporter",
    "OutsidePreviewPeriod",
    "Param",
    "Pathway",
    "PathwayNotAvailable",
    "ScoreSource",
    "Window",
    "WindowClosed",
    "WindowNotOpenYet",
    "WindowState",
    "WrongLevel",
    "already_elected",
    "apm_opt_in_letter",
    "check_confirmation",
    "check_election",
    "check_eligibility",
    "check_level",
    "check_pathway",
    "check_window",
    "clock_time",
    "confirmed",
    "consequences",
    "included_in_benchmarks",
    "participation_display",
    "receives_payment_adjustment",
    "score_for_payment_adjustment",
    "virtual_group_election",
]
