"""What the permission matrix says a caller may do, read from the matrix data
(``services/access/permissions.yaml``) and the security world's grants and client authorisations
written as data (tests/support/security_world.py), never from the code that enforces it.

The rule is the one ADR 0003 and the matrix file describe: a grant reaches its own organisation
(``reach: own``), and a registry grant reaches a practice (or one clinician of it) that
authorised the registry for the performance year (``reach: clients``); the cell for the grant's
role and organisation type must allow the action (``outside_submission_period``: only while no
submission period is open); viewing cells with ``scope: own_submissions`` see only what the
acting organisation submitted."""

from __future__ import annotations

from dataclasses import dataclass

from openqpp.core.access import Action, Cell, DataScope, Effect, OrganisationType, Reach, Role
from openqpp.services import access
from tests.support.security_world import LINKS, Caller, Link

Grant = tuple[Role, OrganisationType, str]
Org = tuple[OrganisationType, str]


@dataclass(frozen=True)
class Target:
    """An organisation, or one clinician (``npi``) of a practice, in a performance year."""

    kind: OrganisationType
    identifier: str
    npi: str | None = None
    year: int | None = None

    @property
    def org(self) -> Org:
        return (self.kind, self.identifier)


class Oracle:
    def __init__(self, *, in_submission_period: bool, links: tuple[Link, ...] = LINKS) -> None:
        self.matrix = access.load_matrix()
        self.in_submission_period = in_submission_period
        self.links = links

    def _reach(self, grant: Grant, target: Target) -> Reach | None:
        _, kind, identifier = grant
        if (kind, identifier) == target.org:
            return Reach.OWN
        if kind is OrganisationType.REGISTRY and target.kind is OrganisationType.PRACTICE:
            for link in self.links:
                if (
                    link.registry == identifier
                    and link.tin == target.identifier
                    and (link.npi is None or link.npi == target.npi)
                    and (target.year is None or link.year == target.year)
                ):
                    return Reach.CLIENTS
        return None

    def decision(self, caller: Caller, action: Action, target: Target) -> tuple[Grant, Cell] | None:
        """The grant (and its cell) that allows ``action`` on ``target``, or None."""
        for grant in caller.grants:
            reach = self._reach(grant, target)
            if reach is None:
                continue
            role, kind, _ = grant
            cell = self.matrix.cell(role, kind, action)
            if cell.effect is Effect.DENY or cell.reach is not reach:
                continue
            if cell.effect is Effect.OUTSIDE_SUBMISSION_PERIOD and self.in_submission_period:
                continue
            return grant, cell
        return None

    def connected(self, caller: Caller, target: Target) -> bool:
        """A grant reaches the target (any action): a refusal may then say more than one about
        an organisation the caller has nothing to do with."""
        return any(self._reach(grant, target) is not None for grant in caller.grants)

    def may(self, caller: Caller, action: Action, target: Target) -> bool:
        return self.decision(caller, action, target) is not None

    def member(self, caller: Caller, org: Org) -> bool:
        return any((kind, identifier) == org for _, kind, identifier in caller.grants)

    def sees_submission(self, caller: Caller, entity: Target) -> bool:
        """Anything of an entity's submission: viewing it, or submitting for it."""
        return self.may(caller, Action.VIEW_SUBMISSIONS, entity) or self.may(
            caller, Action.SUBMIT_DATA, entity
        )

    def sees_data_of(self, caller: Caller, entity: Target, submitter: Org) -> bool:
        """Data ``submitter`` sent for ``entity``: all of it where the viewing cell's scope is
        ``all``; only the acting organisation's own where it is ``own_submissions`` (and a
        submitter always sees what it sent)."""
        viewing = self.decision(caller, Action.VIEW_SUBMISSIONS, entity)
        if viewing is not None:
            (_, kind, identifier), cell = viewing
            if cell.scope is DataScope.ALL or (kind, identifier) == submitter:
                return True
        return self.changes_data_of(caller, entity, submitter)

    def changes_data_of(self, caller: Caller, entity: Target, submitter: Org) -> bool:
        """Only the submitter changes or deletes its own data (and must still be allowed to
        submit for the entity)."""
        submitting = self.decision(caller, Action.SUBMIT_DATA, entity)
        if submitting is None:
            return False
        (_, kind, identifier), _ = submitting
        return (kind, identifier) == submitter

    def sees_tin(self, caller: Caller, tin: str) -> bool:
        """Whether a practice's TIN may be shown to the caller in full: it holds a role at the
        practice, or the practice authorised its registry (for any clinician, any year)."""
        for _, kind, identifier in caller.grants:
            if (kind, identifier) == (OrganisationType.PRACTICE, tin):
                return True
            if kind is OrganisationType.REGISTRY and any(
                link.registry == identifier and link.tin == tin for link in self.links
            ):
                return True
        return False
