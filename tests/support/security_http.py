"""Acting as each caller of the security world over HTTP (FastAPI's TestClient, in process), and
judging each answer: the outcome the permission matrix expects, refusals in their documented
shape, nothing stored by a refusal, no full TIN the caller may not see and no id of data it may
not see in any answer."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import MetaData, func, select

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import STATEMENT_OF_TRUTH_VERSION, Action, OrganisationType
from openqpp.db.base import utcnow
from openqpp.db.models import User, WebSession
from openqpp.services import database
from openqpp.services.access.accounts import SESSION_LIFETIME
from openqpp.services.access.principals import digest
from tests.support.access_http import csrf_from, sign_in
from tests.support.page_routes import _walk
from tests.support.security_oracle import Oracle, Target
from tests.support.security_routes import RULES, Outcome, Place, Rule
from tests.support.security_world import (
    MEMBER_OF,
    MISSING,
    OTHER,
    PASSWORD,
    PRACTICE,
    REGISTRY,
    YEAR,
    Caller,
    Prepared,
)

REQUEST_ID = "sec-matrix"


class Tally:
    """How big the route matrix was and how long it took (printed after the run)."""

    def __init__(self) -> None:
        self.requests = 0
        self.routes: set[str] = set()
        self.callers = 0
        self.seconds = 0.0

    def summary(self) -> str:
        return (
            f"security route matrix: {len(self.routes)} routes x {self.callers} callers "
            f"(each about its own, someone else's and no organisation or object): "
            f"{self.requests} requests in {self.seconds:.1f} s"
        )


TALLY = Tally()
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUTHORISATION_CODES = frozenset({"OQ-ACCESS-001", "OQ-ACCESS-002", "OQ-ACCESS-003", "OQ-ELECT-005"})
"""The codes of a refusal because of who is asking (403)."""
TINS = (MIAMI_MEDICAL, GREENVILLE_PODIATRY, OTHER[PRACTICE], MISSING[PRACTICE])
NAMES = {
    OTHER[OrganisationType.PRACTICE]: "Lakeside Clinic",
    OTHER[OrganisationType.REGISTRY]: "Other Registry",
    OTHER[OrganisationType.VIRTUAL_GROUP]: "Bayou Virtual Group",
    OTHER[OrganisationType.APM_ENTITY]: "Delta ACO",
}
"""Other organisations' names: never in a refusal."""


def route_keys(app: FastAPI) -> list[str]:
    """``METHOD /path`` of every route the app serves (HEAD is GET's)."""
    keys = set()
    for path, route in _walk(app.routes):
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                keys.add(f"{method} {path}")
    return sorted(keys)


def tin_pattern(tin: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){tin}(?!\d)")


TIN_PATTERNS = {tin: tin_pattern(tin) for tin in TINS}


def open_session(url: str, user_id: str) -> str:
    """A session cookie for ``user_id`` as sign-in makes one (for the sign-out route, which
    ends the session it is sent with), without checking the password again."""
    token = secrets.token_urlsafe(32)
    with database.session_factory(url).begin() as session:
        user = session.query(User).filter(User.user_id == user_id).one()
        now = utcnow()
        session.add(
            WebSession(
                token_hash=digest(token),
                user_fk=user.id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
                statement_of_truth_agreed_at=now,
                statement_of_truth_version=STATEMENT_OF_TRUTH_VERSION,
            )
        )
    return token


@dataclass
class Agent:
    """One caller's browser or API client: its cookies, its CSRF token, its bearer token, and
    the CSRF token its browser had before signing in."""

    caller: Caller
    client: TestClient
    csrf: str
    bearer: str | None = None
    csrf_before_sign_in: str | None = None


@dataclass
class Exchange:
    """One request of the matrix and what came back."""

    key: str
    rule: Rule
    caller: Caller
    place: Place
    expected: Outcome
    method: str
    url: str
    sent: str
    """Everything the request carried (path, query, body), for telling echoes from leaks."""
    response: Response
    counts_changed: bool | None = None


class Matrix:
    """The security world's app and an :class:`Agent` per caller."""

    def __init__(
        self,
        app: FastAPI,
        url: str,
        made: Prepared,
        callers: Iterable[Caller],
        *,
        kind: str = "sqlite",
    ) -> None:
        self.app = app
        self.url = url
        self.kind = kind
        self.made = made
        self.callers = tuple(callers)
        self.agents = {c.name: self._agent(c) for c in self.callers}
        self.oracle = Oracle(in_submission_period=True)
        tables = MetaData()
        tables.reflect(database.engine_for(url))
        self._count_sql = select(
            *(select(func.count()).select_from(t).scalar_subquery() for t in tables.sorted_tables)
        )

    def _agent(self, caller: Caller) -> Agent:
        client = TestClient(self.app)
        anonymous = csrf_from(client.get("/signin").text)
        if caller.kind == "user":
            assert caller.user is not None
            signed_in = sign_in(client, caller.user, PASSWORD)
            return Agent(caller, client, signed_in, csrf_before_sign_in=anonymous)
        return Agent(caller, client, anonymous, self.made.tokens.get(caller.name))

    def row_counts(self) -> tuple[int, ...]:
        with database.engine_for(self.url).connect() as connection:
            return tuple(connection.execute(self._count_sql).one())

    # ---------------------------------------------------------------- requests

    def places(self, rule: Rule, caller: Caller) -> list[Place]:
        """The fillings this caller is asked with: its own always; someone else's and none for
        callers who can be refused for them (authenticated); object variants likewise."""
        places = rule.scope(caller, self.made)
        if not caller.authenticated:
            return [p for p in places if p.variant == "own"]
        if caller.kind == "token" and rule.who == "session":
            return [p for p in places if p.variant == "own"]  # pages ignore API tokens
        return places

    def send(
        self,
        key: str,
        rule: Rule,
        caller: Caller,
        place: Place,
        *,
        csrf: str | None = None,
        send_csrf: bool = True,
        headers: dict[str, str] | None = None,
        count_rows: bool | None = None,
    ) -> Exchange:
        """One request; ``csrf`` replaces the caller's own token, ``send_csrf=False`` leaves it
        out, ``headers`` are added. Row counts are compared around refused writes (or when
        ``count_rows``)."""
        method, template = key.split(" ", 1)
        agent = self.agents[caller.name]
        client = agent.client
        token = agent.csrf
        if rule.ends_session and caller.kind == "user":
            assert caller.user is not None
            session = open_session(self.url, caller.user)
            client = TestClient(self.app, cookies={"oq_session": session})
            token = csrf_from(client.get("/signin").text)
        if csrf is not None:
            token = csrf
        values = {**rule.extra, **place.values}
        path = template.format(**values)
        sending = {"X-Request-ID": REQUEST_ID}
        if agent.bearer:
            sending["Authorization"] = f"Bearer {agent.bearer}"
        if rule.headers:
            sending.update(rule.headers(place, self.made))
        sending.update(headers or {})
        kwargs: dict[str, Any] = {}
        if rule.query:
            kwargs["params"] = rule.query(place, self.made)
        data = rule.form(place, self.made) if rule.form else None
        if method in UNSAFE and send_csrf:
            if path.startswith("/api/"):
                if caller.kind == "user":
                    sending["X-CSRF-Token"] = token
            else:
                data = {**(data or {}), "csrf_token": token}
        if data is not None:
            kwargs["data"] = data
        if rule.files:
            kwargs["files"] = rule.files(place, self.made)
        if rule.json:
            kwargs["json"] = rule.json(place, self.made)
        if rule.content:
            kwargs["content"] = rule.content(place, self.made)
        expected = self.expected(rule, caller, place)
        if count_rows is None:
            count_rows = method in UNSAFE and expected is not Outcome.ALLOW
        before = self.row_counts() if count_rows else None
        response = client.request(method, path, headers=sending, follow_redirects=False, **kwargs)
        sent = (
            " ".join(
                str(part)
                for part in (path, kwargs.get("params"), data, kwargs.get("json"), sending)
            )
            + " "
            + repr(kwargs.get("content", b""))
            + repr(kwargs.get("files", ""))
        )
        exchange = Exchange(key, rule, caller, place, expected, method, path, sent, response)
        if before is not None:
            exchange.counts_changed = self.row_counts() != before
        return exchange

    def expected(self, rule: Rule, caller: Caller, place: Place) -> Outcome:
        if rule.who == "public":
            return Outcome.ALLOW
        if rule.who == "optional":
            return Outcome.UNAUTHENTICATED if caller.kind == "dead_token" else Outcome.ALLOW
        if rule.who == "session" and not caller.signed_in:
            return Outcome.SIGN_IN
        if rule.who == "api" and not caller.authenticated:
            return Outcome.UNAUTHENTICATED
        outcome = rule.check(self.oracle, caller, place)
        if outcome is Outcome.FORBIDDEN and rule.refusal == "hidden":
            return Outcome.HIDDEN
        return outcome

    # ---------------------------------------------------------------- what may be seen

    def hidden_ids(self, caller: Caller) -> set[str]:
        """Ids of stored data and uploads the caller may not see."""
        ids = self.made.ids
        hidden = set()
        main = Target(PRACTICE, MIAMI_MEDICAL, None, YEAR)
        other = Target(PRACTICE, GREENVILLE_PODIATRY, None, YEAR)
        for name, value in ids.items():
            parts = name.split(".")
            if parts[0] == "submission":
                entity = other if parts[1] == "other" else main
                if not self.oracle.sees_submission(caller, entity):
                    hidden.add(str(value))
            elif parts[0] in ("set", "measurement", "receipt"):
                entity = other if parts[1] == "other" else main
                if parts[1] == "other":
                    submitter = (PRACTICE, GREENVILLE_PODIATRY)
                else:
                    kind = OrganisationType(parts[2])
                    submitter = (kind, MEMBER_OF[kind])
                if not self.oracle.sees_data_of(caller, entity, submitter):
                    hidden.add(str(value))
            elif parts[0] == "upload":
                vendor = Target(REGISTRY, name.removeprefix("upload."))
                if not self.oracle.may(caller, Action.VIEW_CLIENT_AUTHORISATIONS, vendor):
                    hidden.add(str(value))
        return hidden


# ---------------------------------------------------------------- judging


def _error(response: Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _accessible_error_page(response: Response, code: str | None) -> list[str]:
    problems = []
    html = response.text
    if not response.headers.get("content-type", "").startswith("text/html"):
        problems.append(f"an HTML refusal, got {response.headers.get('content-type')}")
    for needle in ('<html lang="en"', "<main", "<h1", "<title>", 'role="alert"'):
        if needle not in html:
            problems.append(f"the refusal page lacks {needle}")
    if code and code not in html:
        problems.append(f"the refusal page does not show its code {code}")
    return problems


def _code(response: Response) -> str | None:
    error = _error(response)
    if error is not None:
        code = error.get("code")
        return str(code) if code else None
    match = re.search(r"Error code: <code>([A-Z0-9-]+)</code>", response.text)
    if match:
        return match.group(1)
    match = re.search(r"\b(OQ-[A-Z]+-\d{3})\b", response.text)
    return match.group(1) if match else None


def judge(matrix: Matrix, exchange: Exchange) -> list[str]:
    """What is wrong with one answer (empty: right)."""
    response = exchange.response
    status = response.status_code
    expected = exchange.expected
    api = exchange.url.startswith("/api/")
    problems = []
    if status >= 500:
        return [f"server error {status}: {response.text[:300]}"]
    location = response.headers.get("location", "")
    signin_redirect = status in (302, 303, 307) and location.startswith("/signin")
    code = _code(response)
    if expected is Outcome.ALLOW:
        if status in (401, 403) or signin_redirect:
            problems.append(f"refused ({status} {code}) but the matrix allows it")
    elif expected is Outcome.SIGN_IN:
        if not (status == 303 and location.startswith("/signin?next=")):
            problems.append(f"expected a redirect to sign in, got {status} {location}")
    elif expected is Outcome.UNAUTHENTICATED:
        if status != 401 or code != "OQ-AUTH-001":
            problems.append(f"expected 401 OQ-AUTH-001, got {status} {code}")
        elif api:
            problems += _json_envelope(response, "Unauthorized")
        else:
            problems += _accessible_error_page(response, code)
    elif expected is Outcome.FORBIDDEN:
        if status != 403 or code not in AUTHORISATION_CODES:
            problems.append(f"expected 403 with an authorisation code, got {status} {code}")
        elif api:
            problems += _json_envelope(response, "Forbidden")
        else:
            problems += _accessible_error_page(response, code)
    elif expected is Outcome.HIDDEN:
        if status != 404:
            problems.append(f"expected 404 (as if missing), got {status} {code}")
    elif expected is Outcome.CMS_UNAUTHORIZED and (status != 401 or code != "OQ-SUB-401"):
        problems.append(f"expected 401 OQ-SUB-401, got {status} {code}")
    if exchange.counts_changed:
        problems.append("a refused request stored something (row counts changed)")
    problems += leaks(matrix, exchange)
    return problems


def _json_envelope(response: Response, error_type: str) -> list[str]:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return [f"a JSON refusal, got {response.headers.get('content-type')}"]
    error = _error(response)
    if error is None or error.get("type") != error_type or not error.get("message"):
        return [f"the refusal is not the {error_type} envelope: {response.text[:200]}"]
    return []


def leaks(matrix: Matrix, exchange: Exchange) -> list[str]:
    """Full TINs the caller may not see; ids of data it may not see; for refusals, other
    organisations' names and any full TIN at all."""
    body = exchange.response.text
    refused = exchange.expected is not Outcome.ALLOW
    problems = []
    for tin, pattern in TIN_PATTERNS.items():
        if exchange.rule.documentation or not pattern.search(body):
            continue
        if matrix.oracle.sees_tin(exchange.caller, tin):
            continue
        if refused:
            problems.append(f"the refusal shows TIN {tin} in full")
        elif not pattern.search(exchange.sent):
            problems.append(f"shows TIN {tin} in full to a caller who may not see it")
    for hidden in matrix.hidden_ids(exchange.caller):
        if hidden in body and hidden not in exchange.sent:
            problems.append(f"shows the id {hidden} of data the caller may not see")
    if refused:
        for identifier, name in NAMES.items():
            if name in body and not matrix.oracle.member(
                exchange.caller, (_kind_of(identifier), identifier)
            ):
                problems.append(f"the refusal names {name}")
    return problems


def _kind_of(identifier: str) -> OrganisationType:
    return next(kind for kind, value in OTHER.items() if value == identifier)


# ---------------------------------------------------------------- existing or not


def _normalised(exchange: Exchange) -> tuple[int, str]:
    """The answer with what the request named replaced: identifiers wherever they stand, short
    numeric ids where they are quoted as ids (``#27``, ``/27``)."""
    body = exchange.response.text
    for value in sorted(set(exchange.place.values.values()), key=len, reverse=True):
        if len(value) >= 4:
            body = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<ID>", body)
        else:
            body = re.sub(rf"(?<=[#/]){re.escape(value)}(?![\w])", "<ID>", body)
    return exchange.response.status_code, body


def same_answer_pairs(
    oracle: Oracle, exchanges: list[Exchange]
) -> Iterator[tuple[Exchange, Exchange]]:
    """(someone else's, none) pairs of one caller that must read alike: refusals about an
    organisation the caller has no connection to and about none, and 404s for another's object
    and for none."""
    by_variant = {e.place.variant: e for e in exchanges}
    for first, second in (("other", "missing"), ("foreign", "absent")):
        a, b = by_variant.get(first), by_variant.get(second)
        if a is None or b is None:
            continue
        if a.expected is Outcome.ALLOW or b.expected is Outcome.ALLOW:
            continue
        target = a.place.target
        if first == "other" and target is not None and oracle.connected(a.caller, target):
            continue  # e.g. a registry refused an action for a client: it may know that client
        yield a, b


def same_answer_problems(a: Exchange, b: Exchange) -> list[str]:
    if _normalised(a) == _normalised(b):
        return []
    return [
        f"{a.place.variant} and {b.place.variant} answers differ, so a refusal tells whether it "
        f"exists: {a.response.status_code} {a.response.text[:300]!r} vs "
        f"{b.response.status_code} {b.response.text[:300]!r}"
    ]


def rules_for(app: FastAPI) -> list[tuple[str, Rule | None]]:
    return [(key, RULES.get(key)) for key in route_keys(app)]


__all__ = ["MEMBER_OF", "Matrix", "judge", "route_keys", "rules_for"]
