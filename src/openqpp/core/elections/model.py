"""The election vocabulary: kinds, pathways, the entity elected for, who acts, and what an
election already recorded (or implied) looks like. Frozen values only; numbers come from policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from openqpp.core.eligibility import Level, Status


class ElectionKind(StrEnum):
    """What an opt-in eligible entity elects (DESIGN.md: ``opt_in``, ``voluntary``,
    ``no_decision``). ``no_decision`` is what a registry upload records for a participant it
    drops; it is never stored as an election."""

    OPT_IN = "opt_in"
    VOLUNTARY = "voluntary"
    NO_DECISION = "no_decision"

    @property
    def label(self) -> str:
        """As the guides' buttons say it."""
        return _KIND_LABELS[self]

    @property
    def noun(self) -> str:
        """Inside a sentence ("an opt-in election")."""
        return _KIND_NOUNS[self]

    @classmethod
    def parse(cls, raw: object) -> ElectionKind | None:
        """``opt_in``/``opt-in``/``optin`` and ``voluntary``/``report_voluntarily``; else None."""
        text = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
        return _KIND_ALIASES.get(text)


_KIND_LABELS: Final = {
    ElectionKind.OPT_IN: "Opt-In",
    ElectionKind.VOLUNTARY: "Report Voluntarily",
    ElectionKind.NO_DECISION: "No Decision",
}
_KIND_NOUNS: Final = {
    ElectionKind.OPT_IN: "opt-in",
    ElectionKind.VOLUNTARY: "voluntary reporting",
    ElectionKind.NO_DECISION: "no decision",
}
_KIND_ALIASES: Final = {
    "opt_in": ElectionKind.OPT_IN,
    "optin": ElectionKind.OPT_IN,
    "voluntary": ElectionKind.VOLUNTARY,
    "report_voluntarily": ElectionKind.VOLUNTARY,
    "voluntarily": ElectionKind.VOLUNTARY,
    "no_decision": ElectionKind.NO_DECISION,
}


class Pathway(StrEnum):
    """How the entity intends to report once elected (2022 guide, "Reporting Options")."""

    TRADITIONAL_MIPS = "traditional_mips"
    APP = "app"
    """The APM Performance Pathway."""
    MVP = "mvp"
    """A MIPS Value Pathway."""

    @property
    def label(self) -> str:
        return _PATHWAY_LABELS[self]


_PATHWAY_LABELS: Final = {
    Pathway.TRADITIONAL_MIPS: "traditional MIPS",
    Pathway.APP: "the APM Performance Pathway (APP)",
    Pathway.MVP: "a MIPS Value Pathway (MVP)",
}


class Channel(StrEnum):
    """Where an election was made."""

    WEB = "web"
    API = "api"
    APM_LETTER = "apm_letter"
    """Recorded by the operator from an APM entity's signed opt-in letter."""
    REGISTRY_UPLOAD = "registry_upload"
    """Made by a registry for an opt-in eligible participant of its file upload (2019
    election guide, "Registry Election Process", Steps 5-7)."""


class ActorKind(StrEnum):
    """Who may elect, per the permission matrix and the guides."""

    PRACTICE_REPRESENTATIVE = "practice_representative"
    """A Security Official or Staff User of the practice (or its API token)."""
    REGISTRY = "registry"
    """A Qualified Registry or QCDR acting for a client that authorised it for the year."""
    OPERATOR = "operator"
    """The operator, recording an APM entity's signed opt-in letter."""

    @property
    def label(self) -> str:
        return _ACTOR_LABELS[self]


_ACTOR_LABELS: Final = {
    ActorKind.PRACTICE_REPRESENTATIVE: "a practice representative",
    ActorKind.REGISTRY: "a registry (Qualified Registry or QCDR)",
    ActorKind.OPERATOR: "the operator",
}


@dataclass(frozen=True, slots=True)
class Entity:
    """What an election is for: a clinician at a practice (TIN/NPI), a practice (TIN), an APM
    entity, or (never electable here) a virtual group. ``key`` matches the determination's
    ``entity_key``."""

    level: Level
    tin: str | None = None
    npi: str | None = None
    identifier: str | None = None
    """The APM entity or virtual group id."""

    @classmethod
    def individual(cls, tin: str, npi: str) -> Entity:
        return cls(Level.INDIVIDUAL, tin=tin, npi=npi)

    @classmethod
    def group(cls, tin: str) -> Entity:
        return cls(Level.GROUP, tin=tin)

    @classmethod
    def apm_entity(cls, apm_entity_id: str) -> Entity:
        return cls(Level.APM_ENTITY, identifier=apm_entity_id)

    @classmethod
    def virtual_group(cls, virtual_group_id: str) -> Entity:
        return cls(Level.VIRTUAL_GROUP, identifier=virtual_group_id)

    @property
    def key(self) -> str:
        if self.level is Level.INDIVIDUAL:
            return f"{self.tin}/{self.npi}"
        if self.level is Level.GROUP:
            return str(self.tin)
        return str(self.identifier)

    def describe(self) -> str:
        """``TIN 454599323``, ``TIN 123456789 / NPI 1234567893``, ``APM entity A1234``."""
        if self.level is Level.INDIVIDUAL:
            return f"TIN {self.tin} / NPI {self.npi}"
        if self.level is Level.GROUP:
            return f"TIN {self.tin}"
        return f"{self.level.unit} {self.identifier}"


@dataclass(frozen=True, slots=True)
class Authority:
    """Who is acting, as far as the election rules care (the permission matrix has already
    allowed the ``elect`` action for a practice representative or a registry)."""

    kind: ActorKind
    role: str | None = None
    """The role used (``security_official``, ``staff_user``) or None for the operator."""


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The entity's standing in the determination run an election relies on."""

    status: Status | None
    """None: the entity has no result in the run (it did not bill in the period)."""
    performance_year: int
    run_number: int
    virtual_group_id: str | None = None
    """The virtual group whose election lists this group (groups only)."""


class ElectionSource(StrEnum):
    """How an entity came to have its election."""

    ELECTION = "election"
    """A confirmed election (web, API or APM letter)."""
    VIRTUAL_GROUP = "virtual_group"
    """Listed in a virtual group election, which counts as the group's opt-in."""


@dataclass(frozen=True, slots=True)
class ExistingElection:
    """An election an entity already has for the year."""

    kind: ElectionKind
    source: ElectionSource
    decided_at: dt.datetime | None
    """None for a virtual group listing (made before the performance year, date not held)."""
    virtual_group_id: str | None = None
    election_id: int | None = None

    @property
    def is_opted_in(self) -> bool:
        return self.kind is ElectionKind.OPT_IN


@dataclass(frozen=True, slots=True)
class ElectionRequest:
    """One election as asked for: the entity, opt-in or voluntary, the pathway the entity means
    to report, and the text the person typed to confirm it."""

    entity: Entity
    kind: ElectionKind
    typed_confirmation: str
    pathway: Pathway = Pathway.TRADITIONAL_MIPS
