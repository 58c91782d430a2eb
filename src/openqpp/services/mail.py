"""Sending e-mail through a configured SMTP server (OPENQPP_SMTP_*), and the outbox.

Mail is queued in ``email_outbox`` inside the transaction of the change it reports
(:func:`queue`) and delivered after that transaction commits (:func:`deliver_after_commit`),
so a change that rolls back never sends mail and a mail server that is down never undoes a
change. Undelivered mail stays in the outbox with its error; `openqpp notifications deliver`
tries again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from openqpp.db.base import utcnow
from openqpp.db.models import EmailOutbox
from openqpp.settings import Settings

log = logging.getLogger("openqpp.mail")

_PENDING_KEY = "openqpp.mail.pending"


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    """Where and how to send: host, port, sender, optional login, STARTTLS or implicit TLS."""

    host: str
    port: int = 25
    sender: str = "openqpp@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer | None:
        """The mailer OPENQPP_SMTP_* describe, or None when no SMTP host is set."""
        if not settings.smtp_host.strip():
            return None
        return cls(
            host=settings.smtp_host.strip(),
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            use_ssl=settings.smtp_ssl,
            timeout=settings.smtp_timeout,
        )

    def send(self, to_address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to_address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain="openqpp")
        message.set_content(body)
        client: smtplib.SMTP
        if self.use_ssl:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls and not self.use_ssl:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)


def queue(
    session: Session, *, to_address: str, subject: str, body: str, notification_id: int | None
) -> EmailOutbox:
    """Add one e-mail to the outbox in ``session``'s transaction."""
    row = EmailOutbox(
        notification_id=notification_id,
        to_address=to_address[:254],
        subject=subject[:300],
        body=body,
        created_at=utcnow(),
        attempts=0,
    )
    session.add(row)
    session.flush()
    pending: list[int] = session.info.setdefault(_PENDING_KEY, [])
    pending.append(row.id)
    return row


def deliver_after_commit(session: Session, mailer: SmtpMailer | None) -> None:
    """Send the e-mail queued in ``session`` once its transaction commits (nothing on
    rollback). Without a mailer the mail stays queued with a note saying why."""
    session.info[_MAILER_KEY] = mailer


_MAILER_KEY = "openqpp.mail.mailer"


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = list(session.info.pop(_PENDING_KEY, []))
    mailer = session.info.pop(_MAILER_KEY, None)
    if not ids:
        return
    try:
        with Session(bind=session.get_bind()) as fresh, fresh.begin():
            deliver(fresh, mailer, ids=ids)
    except Exception:  # the change is committed; mail that failed stays in the outbox
        log.exception("e-mail delivery after commit failed", extra={"outbox_ids": ids})


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_MAILER_KEY, None)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int
    failed: int
    pending: int


def deliver(
    session: Session, mailer: SmtpMailer | None, *, ids: Sequence[int] | None = None
) -> DeliveryReport:
    """Try to send unsent outbox mail (``ids`` only, or all of it); record each outcome."""
    query = select(EmailOutbox).where(EmailOutbox.sent_at.is_(None)).order_by(EmailOutbox.id)
    if ids is not None:
        query = query.where(EmailOutbox.id.in_(list(ids)))
    sent = failed = 0
    rows = list(session.scalars(query))
    for row in rows:
        if mailer is None:
            row.last_error = "No SMTP server is configured (set OPENQPP_SMTP_HOST)."
            continue
        row.attempts = (row.attempts or 0) + 1
        try:
            mailer.send(row.to_address, row.subject, row.body)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("e-mail not sent", extra={"outbox_id": row.id, "error": row.last_error})
            continue
        row.sent_at = utcnow()
        row.last_error = None
        sent += 1
    return DeliveryReport(sent=sent, failed=failed, pending=len(rows) - sent)
