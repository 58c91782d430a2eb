"""Who is acting: a signed-in user, an API token, or the operator at the command line."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openqpp.core.access import Grant, OrganisationRef, OrganisationType, Role
from openqpp.db.base import utcnow
from openqpp.db.models import Organisation, RoleGrant


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "token", "operator"]
    actor: str
    """What the audit log calls it: the user ID, ``token:<id>`` or ``operator``."""
    name: str
    grants: tuple[Grant, ...] = ()
    user_pk: int | None = None
    token_id: int | None = None
    session_id: int | None = None
    organisation_names: dict[int, str] = field(default_factory=dict)

    def grants_at(self, organisation_id: int) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.organisation.id == organisation_id)


OPERATOR = Principal(kind="operator", actor="operator", name="Operator (command line)")


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (session cookie or API token), as stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def active_grant_rows(
    session: Session, *, user_pk: int, now: dt.datetime | None = None
) -> list[tuple[RoleGrant, Organisation]]:
    now = now or utcnow()
    rows = session.execute(
        select(RoleGrant, Organisation)
        .join(Organisation, Organisation.id == RoleGrant.organisation_fk)
        .where(
            RoleGrant.user_fk == user_pk,
            RoleGrant.status == "approved",
            or_(RoleGrant.expires_at.is_(None), RoleGrant.expires_at > now),
        )
        .order_by(Organisation.kind, Organisation.name, RoleGrant.role)
    ).all()
    return [(g, o) for g, o in rows]


def ref(org: Organisation) -> OrganisationRef:
    return OrganisationRef(org.id, OrganisationType(org.kind.value), org.identifier)


def user_grants(
    session: Session, *, user_pk: int, now: dt.datetime | None = None
) -> tuple[tuple[Grant, ...], dict[int, str]]:
    pairs = active_grant_rows(session, user_pk=user_pk, now=now)
    grants = tuple(Grant(Role(g.role), ref(o)) for g, o in pairs)
    return grants, {o.id: o.name for _, o in pairs}
