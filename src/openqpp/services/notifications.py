"""Notifying organisations: a notification shown in the app, and an e-mail to the people who
act for the organisation (its Security Officials and Staff Users), queued in the same
transaction and sent after it commits (services/mail.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openqpp.core.access import OrganisationType, Role, describe, not_connected
from openqpp.db.base import utcnow
from openqpp.db.models import Notification, Organisation, RoleGrant, User
from openqpp.services import mail
from openqpp.services.access import organisations
from openqpp.services.access.principals import Principal

EMAIL_ROLES = (Role.SECURITY_OFFICIAL.value, Role.STAFF_USER.value)


@dataclass(frozen=True, slots=True)
class NotificationInfo:
    id: int
    created_at: dt.datetime
    category: str
    title: str
    body: str
    link: str | None


def _info(row: Notification) -> NotificationInfo:
    return NotificationInfo(row.id, row.created_at, row.category, row.title, row.body, row.link)


def recipients(session: Session, *, organisation_id: int, now: dt.datetime) -> list[str]:
    """E-mail addresses of the active Security Officials and Staff Users of the organisation."""
    rows = session.scalars(
        select(User.email)
        .join(RoleGrant, RoleGrant.user_fk == User.id)
        .where(
            RoleGrant.organisation_fk == organisation_id,
            RoleGrant.status == "approved",
            RoleGrant.role.in_(EMAIL_ROLES),
            or_(RoleGrant.expires_at.is_(None), RoleGrant.expires_at > now),
            User.active.is_(True),
        )
        .order_by(User.email)
    )
    return sorted(set(rows))


def notify(
    session: Session,
    *,
    organisation_id: int,
    category: str,
    title: str,
    body: str,
    link: str | None,
    election_id: int | None = None,
    mailer: mail.SmtpMailer | None,
    now: dt.datetime | None = None,
) -> NotificationInfo:
    """Record a notification for the organisation and queue an e-mail to each recipient."""
    moment = now or utcnow()
    row = Notification(
        organisation_id=organisation_id,
        created_at=moment,
        category=category,
        title=title[:200],
        body=body,
        link=link,
        election_id=election_id,
    )
    session.add(row)
    session.flush()
    text = body + (f"\n\nSee it in openqpp: {link}" if link else "")
    for address in recipients(session, organisation_id=organisation_id, now=moment):
        mail.queue(
            session,
            to_address=address,
            subject=f"[openqpp] {title}",
            body=text,
            notification_id=row.id,
        )
    mail.deliver_after_commit(session, mailer)
    return _info(row)


@dataclass(frozen=True, slots=True)
class NotificationsPage:
    organisation: organisations.OrganisationInfo
    notifications: list[NotificationInfo]


def notifications_page(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
    limit: int = 200,
) -> NotificationsPage:
    """The organisation's notifications, newest first, for people who hold a role there."""
    ident = organisations.normalise_identifier(organisation_type, identifier)
    org = organisations.find(session, organisation_type, ident)
    if org is None or not principal.grants_at(org.id):
        raise not_connected(describe(organisation_type, ident))
    rows = session.scalars(
        select(Notification)
        .where(Notification.organisation_id == org.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return NotificationsPage(organisations.info(org), [_info(r) for r in rows])


def organisation_name(session: Session, organisation_id: int | None) -> str | None:
    if organisation_id is None:
        return None
    row = session.get(Organisation, organisation_id)
    return row.name if row else None
