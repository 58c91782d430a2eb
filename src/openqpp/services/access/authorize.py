"""The one question every service asks before acting: may this principal do this, here?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from openqpp.core.access import (
    AccessError,
    Action,
    ClientLink,
    Decision,
    OrganisationType,
    Target,
    decide,
    describe,
    not_connected,
)
from openqpp.core.common import Npi
from openqpp.core.elections import Window
from openqpp.db.base import utcnow
from openqpp.db.models import ClientAuthorisation, Organisation, OrganisationKind
from openqpp.policy import SUPPORTED_YEARS, load_policy
from openqpp.services.access import organisations
from openqpp.services.access.matrix import load_matrix
from openqpp.services.access.principals import Principal, ref


@lru_cache(maxsize=1)
def submission_windows() -> tuple[Window, ...]:
    """Each supported year's submission (election) window, from policy: the same windows the
    election rules use, so "during the submission period" means the same instant everywhere
    (open from the opening second, closed from the closing second)."""
    return tuple(Window.for_policy(load_policy(year)) for year in SUPPORTED_YEARS)


def in_submission_period(at: dt.datetime | None = None) -> bool:
    """Whether a submission period is open at ``at`` (now by default)."""
    moment = at or utcnow()
    return any(window.is_open(moment) for window in submission_windows())


def client_links(session: Session, *, practice_id: int) -> list[ClientLink]:
    rows = session.scalars(_CURRENT_CLIENT_LINKS_OF, {"practice_ids": [practice_id]})
    return [_link(r) for r in rows]


@dataclass(frozen=True, slots=True)
class PracticeDirectory:
    """Registered practices by TIN with their current client links, read at once for a request
    that acts for many entities (asked one by one, a batch of 25 elections read them 50 times).
    """

    practices: Mapping[str, Organisation]
    links: Mapping[int, list[ClientLink]]


_PRACTICES_BY_TIN = select(Organisation).where(
    Organisation.kind == OrganisationKind.PRACTICE,
    Organisation.identifier.in_(bindparam("tins", expanding=True)),
)
_CURRENT_CLIENT_LINKS_OF = select(ClientAuthorisation).where(
    ClientAuthorisation.practice_fk.in_(bindparam("practice_ids", expanding=True)),
    ClientAuthorisation.revoked_at.is_(None),
)


def practice_directory(session: Session, tins: Iterable[str]) -> PracticeDirectory:
    """The :class:`PracticeDirectory` of ``tins`` (stored form), 500 at a time."""
    wanted = sorted(set(tins))
    practices: dict[str, Organisation] = {}
    links: dict[int, list[ClientLink]] = {}
    for start in range(0, len(wanted), 500):
        found = {
            o.identifier: o
            for o in session.scalars(_PRACTICES_BY_TIN, {"tins": wanted[start : start + 500]})
        }
        practices |= found
        ids = sorted(o.id for o in found.values())
        links |= {i: [] for i in ids}
        if ids:
            for row in session.scalars(_CURRENT_CLIENT_LINKS_OF, {"practice_ids": ids}):
                links[row.practice_fk].append(_link(row))
    return PracticeDirectory(practices, links)


def _link(row: ClientAuthorisation) -> ClientLink:
    return ClientLink(row.registry_fk, row.practice_fk, row.npi, row.performance_year)


def resolve_target(
    session: Session,
    kind: OrganisationType,
    identifier: str,
    npi: str | None = None,
    *,
    directory: PracticeDirectory | None = None,
) -> Target | None:
    """The target named by what a caller typed, or None when there is no such organisation.
    Raises InvalidValue for a malformed identifier or NPI (that reveals nothing).
    ``directory``: the practices already read for the request (a practice is looked up there).
    """
    ident = organisations.normalise_identifier(kind, identifier)
    checked_npi = str(Npi(npi)) if npi else None
    if directory is not None and kind is OrganisationType.PRACTICE:
        row = directory.practices.get(ident)
    else:
        row = organisations.find(session, kind, ident)
    if row is None:
        return None
    return Target(ref(row), checked_npi)


def authorize(
    session: Session,
    *,
    principal: Principal,
    action: Action,
    organisation_type: OrganisationType,
    identifier: str,
    npi: str | None = None,
    performance_year: int | None = None,
    at: dt.datetime | None = None,
    directory: PracticeDirectory | None = None,
) -> Decision:
    """Allow ``action`` for ``principal`` on the organisation (or clinician) named, or raise.

    Refusals are :class:`~openqpp.core.access.AccessError` (HTTP 403): ``NotConnected`` with the
    same words whether or not the organisation exists, ``ActionRefused`` or
    ``OutsideAllowedPeriod`` when the principal holds a role that reaches it but the permission
    matrix says no. ``performance_year`` selects the client authorisations that count for a
    registry (None: any year's). The returned decision names the grant used and the data scope.
    ``directory``: the practices and their client links already read for the request.
    """
    target = resolve_target(session, organisation_type, identifier, npi, directory=directory)
    if target is None:
        ident = organisations.normalise_identifier(organisation_type, identifier)
        raise not_connected(describe(organisation_type, ident, npi))
    return authorize_target(
        session,
        principal=principal,
        action=action,
        target=target,
        performance_year=performance_year,
        at=at,
        links=directory.links.get(target.organisation.id) if directory is not None else None,
    )


def authorize_target(
    session: Session,
    *,
    principal: Principal,
    action: Action,
    target: Target,
    performance_year: int | None = None,
    at: dt.datetime | None = None,
    links: list[ClientLink] | None = None,
) -> Decision:
    """:func:`authorize` for a target already resolved (an organisation id is known);
    ``links``: the practice's current client links when already read."""
    if links is None:
        links = (
            client_links(session, practice_id=target.organisation.id)
            if target.organisation.type is OrganisationType.PRACTICE
            else []
        )
    return decide(
        load_matrix(),
        grants=principal.grants,
        action=action,
        target=target,
        client_links=links,
        in_submission_period=in_submission_period(at),
        performance_year=performance_year,
    )


def allowed(
    session: Session,
    *,
    principal: Principal,
    action: Action,
    target: Target,
    performance_year: int | None = None,
) -> bool:
    """Whether :func:`authorize_target` would allow (for showing or hiding links and buttons)."""
    try:
        authorize_target(
            session,
            principal=principal,
            action=action,
            target=target,
            performance_year=performance_year,
        )
    except AccessError:
        return False
    return True
