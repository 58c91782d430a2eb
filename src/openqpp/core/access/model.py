"""The vocabulary of access: roles, organisation types, actions, and the facts a decision uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A role a person holds at one organisation (QPP Access roles)."""

    SECURITY_OFFICIAL = "security_official"
    STAFF_USER = "staff_user"
    CLINICIAN = "clinician"

    @property
    def label(self) -> str:
        return {
            "security_official": "Security Official",
            "staff_user": "Staff User",
            "clinician": "Clinician",
        }[self.value]


class OrganisationType(StrEnum):
    """The organisation types of the 2019 data submission guide ("Organization Type")."""

    PRACTICE = "practice"
    REGISTRY = "registry"
    VIRTUAL_GROUP = "virtual_group"
    APM_ENTITY = "apm_entity"

    @property
    def label(self) -> str:
        return {
            "practice": "Practice",
            "registry": "Registry",
            "virtual_group": "Virtual Group",
            "apm_entity": "APM Entity",
        }[self.value]

    @property
    def identifier_label(self) -> str:
        """What the organisation's identifier is called on screens."""
        return {
            "practice": "TIN",
            "registry": "Vendor ID",
            "virtual_group": "Virtual group ID",
            "apm_entity": "APM entity ID",
        }[self.value]


class Action(StrEnum):
    """Everything the permission matrix decides. Services ask ``authorize`` for one of these."""

    VIEW_ELIGIBILITY = "view_eligibility"
    ELECT = "elect"
    """Make an opt-in or voluntary reporting election."""
    SUBMIT_DATA = "submit_data"
    """Upload files, send data through the API, or attest manually."""
    VIEW_SUBMISSIONS = "view_submissions"
    VIEW_PRELIMINARY_SCORES = "view_preliminary_scores"
    VIEW_COST_FEEDBACK = "view_cost_feedback"
    MANAGE_USERS = "manage_users"
    """Approve or reject role requests at the organisation."""
    MANAGE_API_TOKENS = "manage_api_tokens"
    MANAGE_CLIENT_AUTHORISATIONS = "manage_client_authorisations"
    """Authorise (or stop authorising) a registry to act for the practice."""
    VIEW_CLIENT_AUTHORISATIONS = "view_client_authorisations"
    """See the intermediaries acting for a practice, or a registry's clients."""
    VIEW_AUDIT_LOG = "view_audit_log"


class Effect(StrEnum):
    """What a cell of the matrix says."""

    ALLOW = "allow"
    DENY = "deny"
    OUTSIDE_SUBMISSION_PERIOD = "outside_submission_period"
    """Allowed, but not while a submission period is open (e.g. cost feedback)."""


class Reach(StrEnum):
    """Which organisations an allowed action reaches from the organisation the role is held at."""

    OWN = "own"
    """The organisation itself (and, for a practice, its clinicians)."""
    CLIENTS = "clients"
    """Practices and clinicians that authorised this registry for the performance year."""


class DataScope(StrEnum):
    """For viewing actions: whose data may be seen."""

    ALL = "all"
    """Everything held for the target, whoever submitted it."""
    OWN_SUBMISSIONS = "own_submissions"
    """Only what the acting organisation itself submitted (registries: not other intermediaries'
    data, not data the client submitted directly)."""


@dataclass(frozen=True, slots=True)
class OrganisationRef:
    """An organisation as decisions see it: its database id, type and identifier."""

    id: int
    type: OrganisationType
    identifier: str


@dataclass(frozen=True, slots=True)
class Grant:
    """An active role at an organisation (approved, not expired)."""

    role: Role
    organisation: OrganisationRef


@dataclass(frozen=True, slots=True)
class ClientLink:
    """A client authorisation: ``registry_id`` may act for practice ``practice_id`` (whole
    practice when ``npi`` is None, else that clinician only) in ``performance_year``."""

    registry_id: int
    practice_id: int
    npi: str | None
    performance_year: int


@dataclass(frozen=True, slots=True)
class Target:
    """What an action is about: an organisation, or one clinician (NPI) at a practice."""

    organisation: OrganisationRef
    npi: str | None = None
