"""When an intermediary (a registry) elects for a practice, the practice is told: a
notification in openqpp and an e-mail to its Security Officials and Staff Users, sent through a
real SMTP server on loopback after the election commits, never for a change that rolled back,
and kept in the outbox when the mail server is down."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.support.elections_world import DEBARA, GREEN, NOW_2022, World
from tests.support.live import free_port
from tests.support.smtp import Inbox, smtp_server

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.core.elections import ElectionRefused
from openqpp.db.models import EmailOutbox, Notification
from openqpp.services import audit, elections, mail, notifications

__all__ = ["smtp_server"]


def _registry_elects(world: World, mailer: mail.SmtpMailer | None, typed: str = "CONFIRM") -> None:
    with world.factory.begin() as session:
        elections.submit(
            session,
            principal=world.principal("jordan.rivera"),
            items=[elections.SubmitItem(tin=MIAMI_MEDICAL, npi=DEBARA, decision="opt_in")],
            year=2022,
            typed=typed,
            now=NOW_2022,
            context=audit.RequestContext(request_id="api-1"),
            mailer=mailer,
        )


def test_a_registry_election_notifies_the_practice_in_the_app_and_by_email(
    world: World, smtp_server: Inbox
) -> None:
    mailer = mail.SmtpMailer(host=smtp_server.host, port=smtp_server.port, sender="qpp@example.org")
    _registry_elects(world, mailer)
    # Miami Medical's Security Official and Staff User get it; the Clinician role does not
    assert sorted(r for _, rcpts, _ in smtp_server.messages for r in rcpts) == [
        "maria.garcia@example.org",
        "sam.smith@example.org",
    ]
    (message,) = smtp_server.to("maria.garcia@example.org")
    assert message["From"] == "qpp@example.org"
    assert "American Academy of Neurology" in message["Subject"]
    assert "Miami Medical" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    assert f"TIN {MIAMI_MEDICAL} / NPI {DEBARA}: Opt-In" in body
    assert "2024 payment adjustment" in body
    assert "cannot be changed" in body
    with world.factory() as session:
        sent = session.scalars(select(EmailOutbox)).all()
        assert {row.sent_at is not None for row in sent} == {True}
        page = notifications.notifications_page(
            session,
            principal=world.principal("maria.garcia"),
            organisation_type=OrganisationType.PRACTICE,
            identifier=MIAMI_MEDICAL,
        )
    (note,) = page.notifications
    assert note.title == message["Subject"].removeprefix("[openqpp] ")
    assert note.link == f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}"


def test_a_refused_election_sends_no_mail_and_leaves_no_notification(
    world: World, smtp_server: Inbox
) -> None:
    mailer = mail.SmtpMailer(host=smtp_server.host, port=smtp_server.port)
    with pytest.raises(ElectionRefused) as caught:
        _registry_elects(world, mailer, typed="nope")
    assert caught.value.code == "OQ-ELECT-008"
    assert smtp_server.messages == []
    with world.factory() as session:
        assert session.scalars(select(Notification)).all() == []
        assert session.scalars(select(EmailOutbox)).all() == []


def test_a_mail_server_that_is_down_keeps_the_election_and_the_mail_for_later(
    world: World, smtp_server: Inbox
) -> None:
    down = mail.SmtpMailer(host="127.0.0.1", port=free_port(), timeout=2)
    _registry_elects(world, down)
    with world.factory() as session:
        rows = session.scalars(select(EmailOutbox)).all()
        assert len(rows) == 2
        assert all(r.sent_at is None and r.attempts == 1 and r.last_error for r in rows)
        assert len(elections.list_elections(session, year=2022)) == 1
    with world.factory.begin() as session:
        report = mail.deliver(session, mail.SmtpMailer(smtp_server.host, smtp_server.port))
    assert (report.sent, report.failed, report.pending) == (2, 0, 0)
    assert len(smtp_server.messages) == 2


def test_without_smtp_settings_mail_waits_in_the_outbox(world: World) -> None:
    _registry_elects(world, None)
    with world.factory() as session:
        rows = session.scalars(select(EmailOutbox)).all()
    assert len(rows) == 2
    assert all("OPENQPP_SMTP_HOST" in (r.last_error or "") for r in rows)


def test_notifications_are_shown_only_to_people_of_the_organisation(world: World) -> None:
    from openqpp.core.access import NotConnected

    _registry_elects(world, None)
    with world.factory() as session, pytest.raises(NotConnected):
        notifications.notifications_page(
            session,
            principal=world.principal("jordan.rivera"),
            organisation_type=OrganisationType.PRACTICE,
            identifier=MIAMI_MEDICAL,
        )


def test_one_registry_batch_for_two_practices_tells_each_practice_once_and_only_its_people(
    world: World, smtp_server: Inbox
) -> None:
    mailer = mail.SmtpMailer(host=smtp_server.host, port=smtp_server.port, sender="qpp@example.org")
    with world.factory.begin() as session:
        elections.submit(
            session,
            principal=world.principal("jordan.rivera"),
            items=[
                elections.SubmitItem(tin=MIAMI_MEDICAL, npi=DEBARA, decision="opt_in"),
                elections.SubmitItem(tin=GREENVILLE_PODIATRY, npi=GREEN, decision="voluntary"),
            ],
            year=2022,
            typed="CONFIRM",
            now=NOW_2022,
            context=audit.RequestContext(request_id="api-2"),
            mailer=mailer,
        )
    by_practice = {
        practice: sorted(r for _, rcpts, m in smtp_server.messages if practice in m["Subject"]
                         for r in rcpts)
        for practice in ("Miami Medical", "Greenville Podiatry")
    }  # fmt: skip
    assert by_practice == {
        "Miami Medical": ["maria.garcia@example.org", "sam.smith@example.org"],
        "Greenville Podiatry": ["lee.wong@example.org", "sam.smith@example.org"],
    }
    with world.factory() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert len(rows) == 2
    assert {row.title.split(" for ")[1].split(" (")[0] for row in rows} == {
        "Miami Medical",
        "Greenville Podiatry",
    }
    made = "American Academy of Neurology made 1 election"
    assert all(row.title.startswith(made) for row in rows)
