"""OPENQPP_CLOCK pins the clock the election rules use (with a UTC offset, or refused), and the
SMTP sender (OPENQPP_SMTP_*) delivers to a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from tests.support.smtp import Inbox, smtp_server

from openqpp.services import mail
from openqpp.settings import Settings

__all__ = ["smtp_server"]


def test_the_clock_is_real_unless_pinned() -> None:
    before = dt.datetime.now(dt.UTC)
    assert before <= Settings().now() <= dt.datetime.now(dt.UTC)
    assert not Settings().clock_pinned
    pinned = Settings(clock="2023-03-19T20:00:00-04:00")
    assert pinned.clock_pinned
    assert pinned.now() == dt.datetime(2023, 3, 20, 0, 0, tzinfo=dt.UTC)
    assert Settings(clock="2020-04-30T23:59:59Z").now().tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("raw", "says"), [("2023-03-19T20:00:00", "no UTC offset"), ("tomorrow", "ISO 8601")]
)
def test_a_clock_without_an_offset_or_not_a_time_is_refused(raw: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(clock=raw)


def test_no_smtp_host_means_no_mailer() -> None:
    assert mail.SmtpMailer.from_settings(Settings()) is None
    mailer = mail.SmtpMailer.from_settings(
        Settings(smtp_host="mail.example.org", smtp_port=2525, smtp_from="qpp@example.org")
    )
    assert mailer == mail.SmtpMailer(host="mail.example.org", port=2525, sender="qpp@example.org")


def test_the_sender_delivers_to_a_real_smtp_server(smtp_server: Inbox) -> None:
    settings = Settings(
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_from="openqpp@example.org"
    )
    mailer = mail.SmtpMailer.from_settings(settings)
    assert mailer is not None
    mailer.send("lee.wong@example.org", "A registry elected for Greenville Podiatry", "Body\n")
    ((sender, recipients, message),) = smtp_server.messages
    assert (sender, recipients) == ("openqpp@example.org", ["lee.wong@example.org"])
    assert message["Subject"] == "A registry elected for Greenville Podiatry"
    assert message["Message-ID"]
    assert message.get_content().strip() == "Body"
