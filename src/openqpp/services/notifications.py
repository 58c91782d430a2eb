"""Notifying organisations: a notification shown in the app, and an e-mail to the people who
act for the organisation (its Security Officials and Staff Users), queued in the same
transaction and sent after it commits (services/mail.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select
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


_RECIPIENTS_OF = (
    select(RoleGrant.organisation_fk, User.email)
    .join(RoleGrant, RoleGrant.user_fk == User.id)
    .where(
        RoleGrant.organisation_fk.in_(bindparam("organisations", expanding=True)),
        RoleGrant.status == "approved",
        RoleGrant.role.in_(EMAIL_ROLES),
        or_(RoleGrant.expires_at.is_(None), RoleGrant.expires_at > bindparam("now")),
        User.active.is_(True),
    )
)
"""E-mail addresses of the active Security Officials and Staff Users of organisations, read for
all the notifications of a request at once (a registry's batch of elections notifies every
practice it elected for)."""


@dataclass(frozen=True, slots=True)
class NewNotification:
    organisation_id: int
    category: str
    title: str
    body: str
    link: str | None
    election_id: int | None = None


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
    new = NewNotification(organisation_id, category, title, body, link, election_id)
    (info,) = notify_many(session, [new], mailer=mailer, now=now)
    return info


def notify_many(
    session: Session,
    notifications: Sequence[NewNotification],
    *,
    mailer: mail.SmtpMailer | None,
    now: dt.datetime | None = None,
) -> list[NotificationInfo]:
    """:func:`notify` for several at once: one multi-row INSERT and one read of the
    recipients of all their organisations."""
    moment = now or utcnow()
    rows = [
        Notification(
            organisation_id=n.organisation_id,
            created_at=moment,
            category=n.category,
            title=n.title[:200],
            body=n.body,
            link=n.link,
            election_id=n.election_id,
        )
        for n in notifications
    ]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    people: dict[int, set[str]] = defaultdict(set)
    ids = sorted({n.organisation_id for n in notifications})
    for organisation_id, address in session.execute(
        _RECIPIENTS_OF, {"organisations": ids, "now": moment}
    ):
        people[organisation_id].add(address)
    for new, row in zip(notifications, rows, strict=True):
        text = new.body + (f"\n\nSee it in openqpp: {new.link}" if new.link else "")
        for address in sorted(people.get(new.organisation_id, ())):
            mail.queue(
                session,
                to_address=address,
                subject=f"[openqpp] {new.title}",
                body=text,
                notification_id=row.id,
            )
    mail.deliver_after_commit(session, mailer)
    return [_info(row) for row in rows]


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
