"""Signing in through the real pages with a TestClient, and reading CSRF tokens from forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, user_id: str, password: str) -> str:
    """Sign in through /signin (Statement of Truth ticked); returns the CSRF token for the
    signed-in session (for the X-CSRF-Token header of API calls)."""
    token = csrf_from(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={
            "user_id": user_id,
            "password": password,
            "statement_of_truth": "yes",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/account").text)
