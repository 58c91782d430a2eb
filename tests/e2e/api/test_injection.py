"""Header and path injection over HTTP (in process, SQLite and PostgreSQL): SQL metacharacters,
out-of-range numbers, traversal, CR/LF, NUL and very long values in every path parameter of
every route (read from the app's routes); CR/LF and oversized values in the headers the app
reads (X-Request-ID, Idempotency-Key, Qpp-Opt-In-Entities, the TIN header, Authorization,
Accept) and in query parameters (`next`); upload file names with folders, NUL, CR/LF and 10,000
characters; traversal out of /static; a Host header of the attacker's choosing. Every answer is
a refusal with a code (the JSON error envelope under /api, an error page for people) or a
harmless answer, never a 5xx; no injected header appears in a response and no response header
carries CR or LF; nothing is stored by a refused request; every redirect stays on this site."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.support.access_http import csrf_from
from tests.support.elections_world import DEBARA, PASSWORD
from tests.support.hostile import REGISTRY, Site, app_for, raw_request, site, stored
from tests.support.page_routes import _walk
from tests.support.registry_uploads import bad_qpp_json

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.settings import Settings
from openqpp.web import create_app

__all__ = ["site"]

VALID = {
    "year": "2022",
    "tin": MIAMI_MEDICAL,
    "npi": DEBARA,
    "npis": DEBARA,
    "kind": "practice",
    "identifier": MIAMI_MEDICAL,
    "vendor_id": REGISTRY,
    "upload_id": "00000000-0000-4000-8000-000000000000",
    "position": "1",
    "category": "quality",
    "receipt_id": "1",
    "grant_id": "1",
    "token_id": "1",
    "authorisation_id": "1",
    "submission_id": "00000000-0000-4000-8000-000000000000",
    "set_id": "00000000-0000-4000-8000-000000000000",
    "measurement_id": "00000000-0000-4000-8000-000000000000",
}
"""A value for each path parameter that names something plausible, so a request reaches the
view with only the parameter under attack hostile."""
HOSTILE_SEGMENTS = [
    "' OR '1'='1",
    "1; DROP TABLE elections; --",
    '1" UNION SELECT token_hash FROM api_tokens --\\',
    "%_%",
    "9223372036854775808",
    "-1",
    "../../../../etc/passwd",
    "a\r\nX-Injected: yes",
    "a\x00b",
    "<script>alert(1)</script>",
    "9" * 4000,
]
INJECTED = "X-Injected"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _routes() -> list[tuple[str, str]]:
    """(METHOD, path template) of every route with a path parameter."""
    app = create_app(Settings(database_url="sqlite://"))  # type: ignore[call-arg]
    found = set()
    for path, route in _walk(app.routes):
        if isinstance(route, APIRoute) and "{" in path:
            found.update((method, path) for method in route.methods - {"HEAD"})
    return sorted(found)


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(values[m.group(1)], safe=""), template)


def assert_no_injected_header(response: httpx.Response) -> None:
    assert INJECTED.lower() not in {name.lower() for name in response.headers}
    for name, value in response.headers.multi_items():
        assert not set(value) & {"\r", "\n", "\0"}, (name, value)


def assert_refused_or_harmless(response: httpx.Response, *, api: bool) -> None:
    """No server error; a refusal carries a code in the API's JSON envelope or on an error page;
    a redirect stays on this site; no injected header."""
    where = f"{response.request.method} {response.request.url.raw_path[:200]!r}"
    assert response.status_code < 500, (where, response.status_code, response.text[:500])
    assert_no_injected_header(response)
    if 300 <= response.status_code < 400:
        location = response.headers["location"]
        assert location.startswith("/"), (where, location)
        assert not location.startswith("//"), (where, location)
    if response.status_code >= 400:
        kind = response.headers.get("content-type", "")
        if api:
            assert kind.startswith("application/json"), (where, kind)
            assert response.json()["error"]["code"], (where, response.text[:500])
        else:
            assert kind.startswith("text/html"), (where, kind)
            assert re.search(r"OQ-[A-Z]+-[0-9A-Z]+", response.text), (where, response.text[:500])


def _caller(site: Site, template: str) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    """(client, headers, form fields): a token for the API, else a signed-in session (the
    registry's own people for registry pages) with its CSRF token."""
    if template.startswith("/api/submissions"):
        return site.anonymous(), site.registry_token, {}
    if template.startswith("/api/"):
        return site.anonymous(), site.practice_token, {}
    user = "alex.chen" if "{vendor_id}" in template else "maria.garcia"
    client, csrf = site.signed_in(user)
    return client, {"X-CSRF-Token": csrf}, {"csrf_token": csrf}


@pytest.mark.parametrize(("method", "template"), _routes())
def test_hostile_path_parameters_are_refused_with_a_code_and_store_nothing(
    site: Site, method: str, template: str
) -> None:
    client, headers, form = _caller(site, template)
    before = stored(site.world)
    api = template.startswith("/api/")
    if method == "GET":  # the valid values get past parsing: only the hostile one is refused
        query = {"decision": "opt_in"} if template.endswith("/confirm") else {}
        baseline = client.get(
            _fill(template, VALID), params=query, headers=headers, follow_redirects=False
        )
        assert baseline.status_code in (200, 403, 404, 422), (template, baseline.status_code)
        assert "OQ-REQ-001" not in baseline.text, template
    for name in re.findall(r"\{(\w+)\}", template):
        for value in HOSTILE_SEGMENTS:
            url = _fill(template, {**VALID, name: value})
            if method not in UNSAFE:
                response = client.request(method, url, headers=headers, follow_redirects=False)
            elif api:
                response = client.request(method, url, headers=headers, json={})
            else:
                response = client.request(
                    method, url, headers=headers, data=form, follow_redirects=False
                )
            assert_refused_or_harmless(response, api=api)
    assert stored(site.world) == before


# ---------------------------------------------------------------- headers

CRLF = "a\r\nX-Injected: yes"
SQL_LIKE = "' OR '1'='1' --"
HOSTILE_HEADER_VALUES = [CRLF, "a\x00b", "\x7f\x1b[31m", SQL_LIKE, "x" * 100_000]
"""CR/LF (response splitting), NUL, DEL and an escape sequence (log forging), SQL, 100 KB."""
DEBARA_OPT_IN = {
    "data": [{"tin": MIAMI_MEDICAL, "npi": DEBARA, "decision": "opt_in"}],
    "year": 2022,
    "confirm": "CONFIRM",
}
A_SET = {
    "category": "ia",
    "submissionMethod": "registry",
    "performanceStart": "2022-01-01",
    "performanceEnd": "2022-12-31",
    "submission": {
        "entityType": "group",
        "taxpayerIdentificationNumber": MIAMI_MEDICAL,
        "performanceYear": 2022,
    },
    "measurements": [{"measureId": "IA_EPA_1", "value": True}],
}
HEADER_CALLS: dict[str, tuple[str, str, str, Any]] = {
    # name: (header, method, url, JSON body); the token is the practice's unless the URL is
    # the Submissions API's.
    "opt-in entities": ("Qpp-Opt-In-Entities", "GET", "/api/eligibility/opt-in", None),
    "election idempotency key": (
        "Idempotency-Key",
        "PUT",
        "/api/eligibility/opt-in",
        DEBARA_OPT_IN,
    ),
    "submission idempotency key": (
        "Idempotency-Key",
        "POST",
        "/api/submissions/measurement-sets",
        A_SET,
    ),
    "TIN header": (
        "qpp-taxpayer-identification-number",
        "GET",
        "/api/submissions/submissions",
        None,
    ),
    "accept": ("Accept", "GET", "/api/submissions/submissions", None),
    "request id": ("X-Request-ID", "GET", "/api/access/me", None),
    "authorization": ("Authorization", "GET", "/api/access/me", None),
}
READ_AS_DATA = {"opt-in entities", "election idempotency key", "submission idempotency key"}
"""Headers whose every hostile value here must be refused (a code, nothing stored)."""


def _raw_headers(headers: dict[str, str], name: str, value: str) -> list[tuple[bytes, bytes]]:
    """Headers as the server receives them: any byte, CR/LF included (a client library would
    refuse to send some of these; an attacker's raw socket does not)."""
    kept = [
        (k.lower().encode(), v.encode()) for k, v in headers.items() if k.lower() != name.lower()
    ]
    return [*kept, (name.lower().encode(), value.encode("latin-1", "replace"))]


@pytest.mark.parametrize("call", sorted(HEADER_CALLS))
def test_hostile_header_values_are_refused_or_ignored_never_echoed_into_headers(
    site: Site, call: str
) -> None:
    header, method, url, body = HEADER_CALLS[call]
    token = site.registry_token if url.startswith("/api/submissions") else site.practice_token
    for value in HOSTILE_HEADER_VALUES:
        before = stored(site.world)
        headers = {**token, "Content-Type": "application/json"}
        response = raw_request(
            site.app,
            method,
            url.encode(),
            headers=_raw_headers(headers, header, value),
            body=json.dumps(body).encode() if body is not None else b"",
        )
        assert_refused_or_harmless(response, api=True)
        assert value not in response.headers.values()
        if call in READ_AS_DATA and value != SQL_LIKE:  # printable SQL is just a key or a TIN
            assert response.status_code >= 400, (call, value, response.text[:300])
        if response.status_code >= 400:
            assert stored(site.world) == before, (call, value)
            error = response.json()["error"]
            assert error.get("requestId") != value


def test_header_values_cannot_forge_log_lines(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON log keeps one line per record: CR/LF in a header or a (decoded) path is escaped,
    not a new log line, and a hostile request id is not logged."""
    app = app_for(site.world.url, log_level="info", log_json=True)
    forged = '{"level": "info", "message": "forged"}'
    try:
        for value in (f"a\r\n{forged}", f"a\n{forged}"):
            raw_request(
                app,
                "GET",
                quote(f"/api/nothing/{value}").encode(),
                headers=[(b"x-request-id", value.encode()), (b"idempotency-key", value.encode())],
            )
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert lines
        for line in lines:
            record = json.loads(line)  # every line is one whole record
            assert record.get("message") != "forged"
            assert record.get("request_id", "").isalnum()
    finally:
        logging.getLogger("openqpp").handlers.clear()


# ---------------------------------------------------------------- query parameters, redirects

NEXT_VALUES = [
    "//evil.example/",
    "/\\evil.example",
    "https://evil.example/",
    "/\t/evil.example",
    "/%0d%0aX-Injected:%20yes",
    "/\r\nX-Injected: yes",
    "javascript:alert(1)",
    " //evil.example",
]


@pytest.mark.parametrize("value", NEXT_VALUES)
def test_sign_in_goes_back_only_to_a_path_on_this_site(site: Site, value: str) -> None:
    client = site.anonymous()
    page = client.get("/signin", params={"next": value})
    assert page.status_code == 200
    assert_no_injected_header(page)
    signed = client.post(
        "/signin",
        data={
            "user_id": "maria.garcia",
            "password": PASSWORD,
            "statement_of_truth": "yes",
            "csrf_token": csrf_from(page.text),
            "next": value,
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert_refused_or_harmless(signed, api=False)
    location = signed.headers["location"]
    assert httpx.URL("https://openqpp.example").join(location).host == "openqpp.example"


def test_the_sign_in_redirect_keeps_a_hostile_query_inside_its_next_parameter(
    site: Site,
) -> None:
    response = raw_request(
        site.app, "GET", b"/account", query=b"requested=%0d%0aX-Injected:%20yes&x=//evil.example"
    )
    assert response.status_code == 303
    assert_refused_or_harmless(response, api=False)
    location = httpx.URL("https://openqpp.example").join(response.headers["location"])
    assert location.host == "openqpp.example"
    assert location.path == "/signin"


# ---------------------------------------------------------------- Host header


HOST_PROBES = [
    ("GET", "/signin/", None),
    ("GET", "/account", None),
    ("GET", "/account/", None),
    ("GET", "/api/access/me/", None),
    ("GET", "/participation-lookup/", None),
    ("GET", "/eligibility-reporting", None),
    ("GET", f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}/reporting", None),
    ("GET", "/", None),
    ("GET", "/signin", None),
    ("GET", "/api/docs", None),
    ("GET", "/api/openapi.json", None),
]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_no_answer_takes_its_links_or_redirects_from_the_host_header(
    site: Site, signed_in: bool
) -> None:
    """Absolute URLs built from the Host header would let whoever sets it (a client, past a
    proxy that forwards it) point people and caches elsewhere: Starlette's trailing-slash
    redirect did (now off: /path/ is a 404 with a code)."""
    client = site.signed_in("maria.garcia")[0] if signed_in else site.anonymous()
    for method, path, _body in HOST_PROBES:
        response = client.request(
            method,
            path,
            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
            follow_redirects=False,
        )
        assert_refused_or_harmless(response, api=path.startswith("/api/"))
        assert "evil.example" not in response.headers.get("location", ""), path
        assert "evil.example" not in response.text, path


# ---------------------------------------------------------------- files and downloads

TRAVERSALS = [
    b"/static/../../app.py",
    b"/static/../../../../pyproject.toml",
    b"/static/..%2f..%2fapp.py",
    b"/static/%2e%2e/%2e%2e/app.py",
    b"/static/css/..%5c..%5c..%5capp.py",
    b"/static/%2e%2e%2f%2e%2e%2fsettings.py",
    b"/static//etc/passwd",
    b"/static/css/%00.css",
    b"/static/" + b"a/" * 2000 + b"x.css",
]


@pytest.mark.parametrize("raw_path", TRAVERSALS, ids=lambda p: p[:40].decode())
def test_static_files_never_leave_the_static_folder(site: Site, raw_path: bytes) -> None:
    response = raw_request(site.app, "GET", raw_path)
    assert response.status_code in (400, 404), (raw_path, response.status_code)
    assert_refused_or_harmless(response, api=False)
    for secret in (b"def create_app", b"root:x:0:0", b"[project]", b"database_url"):
        assert secret not in response.content


UPLOAD_NAMES = [
    "../../../../etc/passwd.json",
    "..\\..\\windows\\system32\\x.json",
    "/absolute/path.json",
    "a\x00b.json",
    "a\r\nX-Injected: yes.json",
    "<img src=x onerror=alert(1)>.json",
    "x" * 10_000 + ".json",
    "",
]


@pytest.mark.parametrize("name", UPLOAD_NAMES, ids=lambda n: repr(n[:30]))
def test_upload_file_names_are_kept_as_a_bare_printable_name(site: Site, name: str) -> None:
    """A registry upload (multipart) whose file name has folders, NUL, CR/LF, markup or 10,000
    characters: staged under its bare printable name (at most 255 characters), shown escaped,
    and its error report downloads with a percent-encoded Content-Disposition; or refused with
    a code (a part header too long for the multipart parser: 400 OQ-REQ-400)."""
    client, csrf = site.signed_in("alex.chen")
    boundary = "hostile-boundary"
    data = bad_qpp_json(MIAMI_MEDICAL, year=2022)  # so it has an error report to download
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="year"\r\n\r\n2022\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        ).encode()
        + b'filename="'
        + name.encode("utf-8")
        + b'"\r\n'
        + (b"Content-Type: application/json\r\n\r\n" + data + f"\r\n--{boundary}--\r\n".encode())
    )
    response = client.post(
        f"/organisations/registry/{REGISTRY}/uploads",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    assert_refused_or_harmless(response, api=False)
    assert "<img src=x" not in response.text
    if response.status_code != 303:
        return  # refused with a code (e.g. a name the multipart parser cannot read)
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    upload_id = response.headers["location"].rsplit("/", 1)[1]
    with site.world.factory() as session:
        stored_name = session.execute(
            text("SELECT file_name FROM upload_files WHERE upload_id = :id"), {"id": upload_id}
        ).scalar_one()
    assert 0 < len(stored_name) <= 255
    assert not set(stored_name) & {"/", "\\", "\0", "\r", "\n"}, stored_name
    report = client.get(response.headers["location"] + "/files/1/report")
    assert report.status_code == 200
    assert_no_injected_header(report)
    disposition = report.headers["content-disposition"]
    assert re.fullmatch(r"attachment; filename\*=UTF-8''[A-Za-z0-9%._~-]+", disposition)


# ---------------------------------------------------------------- NUL in stored or looked-up text

NUL = "a\x00b"


def test_nul_characters_in_form_fields_and_json_strings_are_refused_with_a_code(
    site: Site,
) -> None:
    """PostgreSQL cannot hold text with NUL: a user id, a token label, a role request, a
    registry id or an entity typed with one is a 400 OQ-REQ-002 there (on SQLite a plain
    refusal, nothing found, or a label stored as typed), never a server error; the refusals
    store nothing."""
    anonymous = site.anonymous()
    signin = anonymous.post(
        "/signin",
        data={
            "user_id": NUL,
            "password": NUL,
            "statement_of_truth": "yes",
            "csrf_token": csrf_from(anonymous.get("/signin").text),
        },
        follow_redirects=False,
    )
    assert_refused_or_harmless(signin, api=False)
    client, csrf = site.signed_in("maria.garcia")
    practice = f"/organisations/practice/{MIAMI_MEDICAL}"
    label = client.post(
        f"{practice}/tokens", data={"label": NUL, "csrf_token": csrf}, follow_redirects=False
    )
    assert_refused_or_harmless(label, api=False)
    if site.world.kind == "postgresql":  # SQLite stores the label as typed
        assert label.status_code == 400
        assert "OQ-REQ-002" in label.text
    before = stored(site.world)
    forms = {
        "/account/roles": {
            "organisation_type": "practice",
            "identifier": NUL,
            "role": "staff_user",
            "reason": NUL,
        },
        f"{practice}/clients": {"registry": NUL, "performance_year": "2022", "npi": NUL},
    }
    for url, fields in forms.items():
        response = client.post(url, data={**fields, "csrf_token": csrf}, follow_redirects=False)
        assert_refused_or_harmless(response, api=False)
        assert response.status_code >= 400, (url, response.status_code)
    api_calls = [
        (
            "POST",
            f"/api/access{practice}/client-authorisations",
            {"registry": NUL, "performanceYear": 2022},
        ),
        ("PUT", "/api/eligibility/opt-in", {"data": [{"tin": NUL}], "confirm": "CONFIRM"}),
        ("PUT", "/api/eligibility/opt-in", {**DEBARA_OPT_IN, "confirm": NUL}),
    ]
    for method, url, body in api_calls:
        response = client.request(method, url, json=body, headers={"X-CSRF-Token": csrf})
        assert_refused_or_harmless(response, api=True)
        assert response.status_code >= 400, (url, response.status_code)
    assert stored(site.world) == before
