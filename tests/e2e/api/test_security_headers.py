"""Every response carries the security headers (CSP self only, no framing, nosniff, referrer and
permissions policies); HSTS only over TLS, directly or from a trusted proxy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from openqpp.services import database
from openqpp.settings import Settings
from openqpp.web import create_app
from openqpp.web.security_headers import (
    CONTENT_SECURITY_POLICY,
    TrustedProxies,
    script_hashes,
)

TEMPLATES = Path(__file__).resolve().parents[3] / "src" / "openqpp" / "web" / "templates"
EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('headers') / 'headers.db'}"
    database.upgrade(url)
    return url


def _app(url: str, **settings: str) -> FastAPI:
    return create_app(Settings(database_url=url, log_json=True, **settings))  # type: ignore[arg-type]


def _routes(routes: Iterable[object], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) for every route, through included routers, path parameters filled in."""
    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None:  # FastAPI's included router
            yield from _routes(context.included_router.routes, prefix + context.prefix)
        elif isinstance(route, Mount):
            yield "GET", route.path + "/css/openqpp.css"
        else:
            path = re.sub(r"\{[^}]+\}", "1", prefix + getattr(route, "path", ""))
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield method, path


def _assert_headers(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers.get("Content-Security-Policy", "").startswith("default-src 'self'"), where
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], where
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, f"{where}: {name}"
    assert "camera=()" in headers.get("Permissions-Policy", ""), where
    assert "Strict-Transport-Security" not in headers, where


def test_every_page_and_api_route_answers_with_the_security_headers(migrated: str) -> None:
    app = _app(migrated)
    client = TestClient(app, raise_server_exceptions=False)
    seen = list(dict.fromkeys(_routes(app.routes)))
    assert len(seen) > 40  # the walk found the included routers
    assert ("GET", "/participation-lookup") in seen
    assert any(path.startswith("/api/eligibility") for _, path in seen)
    for method, path in seen:
        response = client.request(method, path, follow_redirects=False)
        _assert_headers(response, f"{method} {path} -> {response.status_code}")
    _assert_headers(client.get("/no-such-page"), "404 page")
    _assert_headers(client.get("/api/no-such-thing"), "404 API")


def test_the_page_policy_allows_this_server_only(migrated: str) -> None:
    policy = TestClient(_app(migrated)).get("/").headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "unsafe" not in policy
    assert "script-src 'self';" in policy
    assert "http" not in policy


def test_an_unexpected_error_page_carries_the_headers_too(migrated: str) -> None:
    app = _app(migrated)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    _assert_headers(response, "500")


def test_hsts_is_absent_over_plain_http(migrated: str) -> None:
    response = TestClient(_app(migrated)).get("/healthz")
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_over_tls(migrated: str) -> None:
    client = TestClient(_app(migrated), base_url="https://testserver")
    for path in ("/", "/healthz", "/api/no-such-thing"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_is_sent_behind_a_trusted_proxy_that_terminated_tls(migrated: str) -> None:
    # The test client's peer is "testclient"; a real proxy is an IP or network.
    trusted = TestClient(_app(migrated, forwarded_allow_ips="10.0.0.0/8, testclient"))
    response = trusted.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = trusted.get("/", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


def test_x_forwarded_proto_from_an_untrusted_client_is_ignored(migrated: str) -> None:
    client = TestClient(_app(migrated))  # default: only 127.0.0.1 is a trusted proxy
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_trusted_proxies_are_addresses_networks_or_any() -> None:
    proxies = TrustedProxies("127.0.0.1, 10.1.0.0/16, ::1")
    assert "127.0.0.1" in proxies
    assert "10.1.200.3" in proxies
    assert "::1" in proxies
    assert "10.2.0.1" not in proxies
    assert "not-an-ip" not in proxies
    assert None not in proxies
    assert "203.0.113.9" in TrustedProxies("*")
    assert "203.0.113.9" not in TrustedProxies("")


def test_the_api_docs_page_allows_exactly_its_own_inline_script(migrated: str) -> None:
    response = TestClient(_app(migrated)).get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    (digest,) = script_hashes(response.content)
    assert f"script-src 'self' https://cdn.jsdelivr.net {digest};" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    assert int(response.headers["content-length"]) == len(response.content)


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "an inline <style>"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"\shx-on", re.I), "an hx-on attribute (needs eval)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_templates_have_nothing_inline_that_the_policy_would_refuse() -> None:
    """Behaviour goes in /static/js, looks in /static/css (see web/security_headers.py)."""
    problems = [
        f"{path.relative_to(TEMPLATES)}: {what}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for pattern, what in INLINE
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)
