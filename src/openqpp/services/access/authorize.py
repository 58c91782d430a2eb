"""The one question every service asks before acting: may this principal do this, here?"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import select
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
from openqpp.db.models import ClientAuthorisation
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
    rows = session.scalars(
        select(ClientAuthorisation).where(
            ClientAuthorisation.practice_fk == practice_id,
            ClientAuthorisation.revoked_at.is_(None),
        )
    )
    return [ClientLink(r.registry_fk, r.practice_fk, r.npi, r.performance_year) for r in rows]


def resolve_target(
    session: Session, kind: OrganisationType, identifier: str, npi: str | None = None
) -> Target | None:
    """The target named by what a caller typed, or None when there is no such organisation.
    Raises InvalidValue for a malformed identifier or NPI (that reveals nothing)."""
    ident = organisations.normalise_identifier(kind, identifier)
    checked_npi = str(Npi(npi)) if npi else None
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
) -> Decision:
    """Allow ``action`` for ``principal`` on the organisation (or clinician) named, or raise.

    Refusals are :class:`~openqpp.core.access.AccessError` (HTTP 403): ``NotConnected`` with the
    same words whether or not the organisation exists, ``ActionRefused`` or
    ``OutsideAllowedPeriod`` when the principal holds a role that reaches it but the permission
    matrix says no. ``performance_year`` selects the client authorisations that count for a
    registry (None: any year's). The returned decision names the grant used and the data scope.
    """
    target = resolve_target(session, organisation_type, identifier, npi)
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
    )


def authorize_target(
    session: Session,
    *,
    principal: Principal,
    action: Action,
    target: Target,
    performance_year: int | None = None,
    at: dt.datetime | None = None,
) -> Decision:
    """:func:`authorize` for a target already resolved (an organisation id is known)."""
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
