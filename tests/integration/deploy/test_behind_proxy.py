"""The production configuration in deploy/, run for real: nginx with deploy/nginx/openqpp.conf
(TLS, its ports, certificate and instance addresses replaced) in front of two `openqpp serve`
instances started as deploy/systemd/openqpp@.service starts them, with the settings of
deploy/openqpp.env.example, on one database (PostgreSQL when OPENQPP_TEST_DATABASE_URL is set,
else a SQLite file) migrated once by the release step (openqpp-migrate.service's command).
The first instance also loads the demo data (`--demo`), once.

Through the proxy: requests reach both instances; a session and a CSRF token made on one work on
the other; an election sent twice at once is recorded once; the proxy's https makes the
instances send HSTS and Secure cookies; the audit log has the client's own address; the sign-in
lockout counts failures made on either instance; the body limits match the app's; an instance
whose database is not migrated gets no request answered by it; and when an instance dies, the
proxy sends everything to the other. Which instance answered is read from the instances' logs by
the request id nginx gives each request (or from /healthz's instance name). The tests that
add an instance (an unmigrated one; one to kill) run it behind a second nginx of their own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from tests.conftest import _postgres_url
from tests.support import deployment as d
from tests.support.access_http import csrf_from
from tests.support.databases import fresh_database

from openqpp.batch.demo import GREENVILLE_PODIATRY
from openqpp.services import database
from openqpp.services.submissions.uploads import MAX_FILES
from openqpp.settings import Settings
from openqpp.web.submissions.practice import MULTIPART_ALLOWANCE
from openqpp.web.submissions.registry import MULTIPART_OVERHEAD

NGINX = d.nginx_path()
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (`make setup-dev` installs Debian's nginx)"
)

KIND = "postgresql" if _postgres_url() else "sqlite"
CLOCK = "2023-03-19T20:00:00-04:00"
"""Inside the 2022 election window (the demo determinations are for 2019 and 2022)."""
CREDENTIAL = re.compile(r"user ID (\S+)\s+password (\S+)")
CLIENT = "127.0.0.2"
"""The client's address: the proxy itself connects to the instances from 127.0.0.1."""
SPOOFED = "203.0.113.66"
GREENVILLE = f"/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}"


@dataclass
class Deployment:
    url: str
    overrides: dict[str, str]
    release_output: str
    instances: list[d.Instance]
    proxy: d.Proxy
    passwords: dict[str, str]
    tmp: Path

    def served_by(self, response: httpx.Response) -> str:
        """The instance that answered ``response`` (exactly one must have logged it). The
        access log line is written once the response is sent, so on a busy machine the client
        can have the answer a moment before the line is in the file: wait up to 10 s for it."""
        deadline = time.monotonic() + 10
        while True:
            found = d.served_by(self.instances, response.headers["X-Request-ID"])
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(found) == 1, (response.request.url, found)
        return found[0][0]

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), params))
        finally:
            engine.dispose()


def _overrides(url: str) -> dict[str, str]:
    """This machine's values for the example file's database and paths; the rest stays."""
    return {
        "OPENQPP_DATABASE_URL": url,
        "OPENQPP_DATA_DIR": str(d.REPO / ".data"),
        "OPENQPP_MEASURES_DATA": os.environ.get("OPENQPP_MEASURES_DATA", ""),
        "OPENQPP_CLOCK": CLOCK,
        "OPENQPP_DEMO": "true",  # both instances show the demo's home page
    }


def _release_step(overrides: dict[str, str], tmp: Path) -> str:
    """openqpp-migrate.service's command with its environment; its output."""
    done = subprocess.run(
        d.unit_command(d.MIGRATE_UNIT),
        env=d.process_env(d.MIGRATE_UNIT, "", overrides),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return " ".join(done.stdout.split())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    assert NGINX is not None
    tmp = tmp_path_factory.mktemp("deploy")
    with fresh_database(KIND, tmp) as url:
        overrides = _overrides(url)
        output = _release_step(overrides, tmp)
        instances: list[d.Instance] = []
        proxy = None
        try:
            instances.append(d.start_instance(tmp, overrides, extra_args=("--demo",)))
            instances.append(d.start_instance(tmp, overrides))
            passwords = dict(CREDENTIAL.findall(instances[0].text()))
            proxy = d.start_proxy(NGINX, tmp / "nginx", [f"127.0.0.1:{i.port}" for i in instances])
            yield Deployment(url, overrides, output, instances, proxy, passwords, tmp)
        finally:
            if proxy is not None:
                proxy.stop()
            for instance in instances:
                instance.stop()
            database.engine_for.cache_clear()


def _sign_in(
    client: httpx.Client, user_id: str, password: str, **headers: str
) -> tuple[httpx.Response, httpx.Response]:
    """The sign-in form and its POST (Statement of Truth agreed)."""
    form = client.get("/signin", headers=headers)
    assert form.status_code == 200
    posted = client.post(
        "/signin",
        data={
            "user_id": user_id,
            "password": password,
            "statement_of_truth": "yes",
            "csrf_token": csrf_from(form.text),
        },
        headers=headers,
    )
    return form, posted


# ---------------------------------------------------------------- the files themselves


def test_the_deploy_files_set_only_settings_openqpp_has() -> None:
    names = list(d.env_file()) + list(d.unit_environment(d.INSTANCE_UNIT, "8001"))
    assert "OPENQPP_DATABASE_URL" in names
    assert d.unknown_settings(names) == []
    settings = Settings(**{k.removeprefix("OPENQPP_").lower(): v for k, v in d.env_file().items()})
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.forwarded_allow_ips == "127.0.0.1"


def test_the_proxy_body_limits_match_what_the_app_accepts() -> None:
    """nginx's client_max_body_size lets through every body the app accepts (so people see the
    app's coded 413, not nginx's page) and at most 1 MiB more."""
    site = d.SITE.read_text(encoding="utf-8")
    general = re.search(r"^    client_max_body_size (\d+)m;", site, flags=re.M)
    uploads = re.search(
        r"location ~ \^/organisations/registry/\[\^/\]\+/uploads\$ \{\s*client_max_body_size "
        r"(\d+)m;",
        site,
    )
    assert general
    assert uploads
    app = d.env_file()
    mib = 1024 * 1024
    largest_form = int(app["OPENQPP_MAX_REQUEST_BYTES"]) + MULTIPART_ALLOWANCE
    assert largest_form <= int(general.group(1)) * mib <= largest_form + mib
    largest_upload = (
        int(app["OPENQPP_UPLOAD_MAX_FILE_BYTES"]) * (MAX_FILES + 1) + MULTIPART_OVERHEAD
    )
    assert largest_upload <= int(uploads.group(1)) * mib <= largest_upload + mib


# ---------------------------------------------------------------- through the proxy


def test_the_release_step_migrated_the_database_once_before_the_instances_started(
    deployment: Deployment,
) -> None:
    head = database.head_revision()
    assert f"Database migrated from empty to {head}." in deployment.release_output
    assert deployment.query("SELECT version_num FROM alembic_version") == [(head,)]
    assert "Demo data ready" in deployment.instances[0].text()


def test_requests_through_the_proxy_reach_both_instances(deployment: Deployment) -> None:
    with deployment.proxy.client() as client:
        answers = [client.get("/healthz") for _ in range(8)]
        assert [a.status_code for a in answers] == [200] * 8
        names = [a.json()["instance"] for a in answers]
        assert set(names) == {i.name for i in deployment.instances}
        pages = [client.get("/") for _ in range(4)]
        assert {r.status_code for r in pages} == {200}
        assert {deployment.served_by(r) for r in pages} == set(names)
    plain = httpx.get(f"http://127.0.0.1:{deployment.proxy.http_port}/signin")
    assert plain.status_code == 301
    assert plain.headers["location"].startswith("https://")


def test_https_at_the_proxy_makes_the_instances_send_hsts_and_secure_cookies(
    deployment: Deployment,
) -> None:
    with deployment.proxy.client() as client:
        # what a client says about the scheme is replaced by the proxy's own $scheme
        page = client.get("/signin", headers={"X-Forwarded-Proto": "http"})
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("oq_csrf=")
    assert "secure" in csrf_cookie.lower()
    # the same instance asked directly over plain HTTP: no HSTS, no Secure cookie
    direct = httpx.get(f"{deployment.instances[0].url}/signin")
    assert "Strict-Transport-Security" not in direct.headers
    assert "secure" not in direct.headers["set-cookie"].lower()


def test_a_session_and_csrf_token_made_on_one_instance_work_on_the_other(
    deployment: Deployment,
) -> None:
    with deployment.proxy.client() as client:
        form, signed_in = _sign_in(client, "sam.smith", deployment.passwords["sam.smith"])
        assert signed_in.status_code == 303, signed_in.text
        assert "secure" in signed_in.headers["set-cookie"].lower()
        # the form's CSRF token came from one instance and was accepted by the other
        assert deployment.served_by(form) != deployment.served_by(signed_in)
        accounts = [client.get("/account") for _ in range(4)]
        assert {r.status_code for r in accounts} == {200}
        assert all("Sam Smith" in r.text for r in accounts)
        assert {deployment.served_by(r) for r in accounts} == {i.name for i in deployment.instances}
        # a form token from one instance's page, posted to the other: signed out there
        account = client.get("/account")
        out = client.post("/signout", data={"csrf_token": csrf_from(account.text)})
        assert out.status_code == 303, out.text
        assert deployment.served_by(account) != deployment.served_by(out)
        after = client.get("/account")
        assert after.status_code == 303
        assert after.headers["location"].startswith("/signin")


def test_an_election_sent_twice_at_once_is_recorded_once_with_the_clients_address(
    deployment: Deployment,
) -> None:
    headers = {"X-Forwarded-For": SPOOFED}  # a client's claim the proxy must replace
    with deployment.proxy.client(headers=headers) as client:
        _, signed_in = _sign_in(client, "lee.wong", deployment.passwords["lee.wong"])
        assert signed_in.status_code == 303, signed_in.text
        form = client.get(f"{GREENVILLE}/group-options/confirm", params={"decision": "opt_in"})
        assert form.status_code == 200, form.text
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert key
        data = {
            "csrf_token": csrf_from(form.text),
            "decision": "opt_in",
            "typed": "CONFIRM",
            "idempotency_key": key.group(1),
        }
        barrier = threading.Barrier(2)

        def confirm(_: int) -> httpx.Response:
            barrier.wait()
            return client.post(f"{GREENVILLE}/group-options/confirm", data=data)

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(confirm, range(2)))
    assert [a.status_code for a in answers] == [303, 303], [a.text for a in answers]
    assert {a.headers["location"] for a in answers} == {f"{GREENVILLE}/confirmed"}
    # one POST each to two instances, never re-sent by the proxy
    assert {deployment.served_by(a) for a in answers} == {i.name for i in deployment.instances}
    elections = deployment.query(
        "SELECT kind, actor FROM elections WHERE performance_year = 2022 AND tin = :tin",
        tin=GREENVILLE_PODIATRY,
    )
    assert elections == [("opt_in", "lee.wong")]
    audited = deployment.query(
        "SELECT client_address, request_id FROM audit_records "
        "WHERE action = 'election.confirmed' AND tin = :tin",
        tin=GREENVILLE_PODIATRY,
    )
    assert len(audited) == 1
    assert audited[0][0] == CLIENT
    assert audited[0][1] in {a.headers["X-Request-ID"] for a in answers}
    recorded = deployment.query(
        "SELECT action, client_address FROM audit_records WHERE actor = 'lee.wong' ORDER BY id"
    )
    assert [action for action, _ in recorded] == ["sign_in", "election.confirmed"]
    assert {address for _, address in recorded} == {CLIENT}


def test_the_sign_in_lockout_counts_failures_made_on_either_instance(
    deployment: Deployment,
) -> None:
    user = "debara.jones"
    with deployment.proxy.client(source="127.0.0.3") as client:
        token = csrf_from(client.get("/signin").text)

        def attempt(password: str) -> httpx.Response:
            return client.post(
                "/signin",
                data={
                    "user_id": user,
                    "password": password,
                    "statement_of_truth": "yes",
                    "csrf_token": token,
                },
            )

        failures = [attempt("wrong") for _ in range(4)]
        assert [r.status_code for r in failures] == [401] * 4
        assert {deployment.served_by(r) for r in failures} == {i.name for i in deployment.instances}
        fifth = attempt("wrong")
        right = attempt(deployment.passwords[user])
    # four failures spread over two instances, then the fifth locks the user on both
    assert fifth.status_code == 429
    assert "OQ-AUTH-003" in fifth.text
    assert right.status_code == 429, "locked: even the right password is not checked"
    assert int(right.headers["Retry-After"]) > 0
    assert deployment.served_by(fifth) != deployment.served_by(right)
    recorded = deployment.query(
        "SELECT action, client_address FROM audit_records WHERE actor = :user ORDER BY id",
        user=user,
    )
    assert recorded == [("sign_in.failed", "127.0.0.3")] * 5 + [
        ("sign_in.refused_locked", "127.0.0.3")
    ]


def test_bodies_the_app_accepts_pass_the_proxy_and_larger_ones_stop_there(
    deployment: Deployment,
) -> None:
    settings = Settings(**{k.removeprefix("OPENQPP_").lower(): v for k, v in d.env_file().items()})
    over_app = b"x" * (settings.max_request_bytes + 1)
    over_proxy = b"x" * (11 * 1024 * 1024 + 1)
    json_body = {"Content-Type": "application/json"}
    with deployment.proxy.client() as client:
        reached = client.post("/api/submissions/submissions", content=over_app, headers=json_body)
        stopped = client.post("/api/submissions/submissions", content=over_proxy, headers=json_body)
        upload = client.post(
            "/organisations/registry/AAN-QCDR/uploads",
            content=over_proxy,
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
    # the app answered (its own headers and JSON error), not nginx
    assert "Content-Security-Policy" in reached.headers
    assert reached.json()["error"]["code"]
    assert stopped.status_code == 413
    assert "Content-Security-Policy" not in stopped.headers
    assert "X-Request-ID" not in stopped.headers
    # registry uploads are allowed 50 files: the same body goes through to the app there
    assert "Content-Security-Policy" in upload.headers
    assert upload.status_code != 413


def test_an_instance_whose_database_is_not_migrated_answers_nothing_through_the_proxy(
    deployment: Deployment,
) -> None:
    """A third instance on a database nobody migrated, added to the upstream: /healthz says
    503; nginx tries it, gets 503 (OQ-DB-001, nothing done) and passes the request to a ready
    instance, then leaves it out."""
    (deployment.tmp / "unmigrated").mkdir()
    with fresh_database(KIND, deployment.tmp / "unmigrated") as url:
        stray = d.start_instance(deployment.tmp, _overrides(url), ready=False)
        ready = {i.name for i in deployment.instances}
        everyone = [*deployment.instances, stray]
        proxy = None
        try:
            health = httpx.get(f"{stray.url}/healthz").json()
            assert health["database"] == "not migrated"
            proxy = d.start_proxy(
                NGINX or "",
                deployment.tmp / "nginx-with-unmigrated",
                [f"127.0.0.1:{i.port}" for i in everyone],
            )
            with proxy.client() as client:
                answers = [client.get(path) for path in ("/healthz", "/", "/signin") * 4]
            assert [a.status_code for a in answers] == [200] * 12
            assert {a.json()["instance"] for a in answers[::3]} <= ready
            handled = [d.served_by(everyone, a.headers["X-Request-ID"]) for a in answers]
            assert all((stray.name, 503) not in h or len(h) == 2 for h in handled)
            assert all(name in ready for h in handled for name, status in h if status == 200)
            # it was tried, and declined every time
            tried = stray.requests()
            assert tried
            assert {int(str(entry["status"])) for entry in tried} == {503}
        finally:
            if proxy is not None:
                proxy.stop()
            stray.stop()


def test_when_an_instance_dies_the_proxy_sends_every_request_to_the_other(
    deployment: Deployment,
) -> None:
    """A proxy in front of the first instance and a new one; requests keep coming while the new
    one is killed (SIGKILL, a request in flight included): every one is answered, by the
    survivor once the other is gone; a sign-in (POST) after the kill too (a refused connection
    sent nothing, so nginx tries the next instance). The deployment's second instance is left
    alone for the other tests."""
    survivor = deployment.instances[0]
    victim = d.start_instance(deployment.tmp, deployment.overrides)
    proxy = d.start_proxy(
        NGINX or "",
        deployment.tmp / "nginx-with-victim",
        [f"127.0.0.1:{i.port}" for i in (survivor, victim)],
    )
    answers: list[tuple[int, str]] = []
    kill_at = [0]
    killed, enough, stop = threading.Event(), threading.Event(), threading.Event()

    def load() -> None:
        with proxy.client() as client:
            while not stop.is_set():
                for _ in range(2):  # an odd number of requests a round: both answer /healthz
                    health = client.get("/healthz")
                    answers.append((health.status_code, health.json().get("instance", "?")))
                answers.append((client.get("/signin").status_code, ""))
                if killed.is_set() and len(answers) >= kill_at[0] + 20:
                    enough.set()

    worker = threading.Thread(target=load)
    try:
        worker.start()
        while len(answers) < 20 and worker.is_alive():
            stop.wait(0.05)
        victim.stop(signal.SIGKILL)
        kill_at[0] = len(answers)
        killed.set()
        assert enough.wait(timeout=30), "requests stopped being answered after the kill"
        stop.set()
        worker.join(timeout=30)
        assert [status for status, _ in answers] == [200] * len(answers)
        before = {name for _, name in answers[: kill_at[0]] if name}
        after = {name for _, name in answers[kill_at[0] + 2 :] if name}
        assert before == {survivor.name, victim.name}
        assert after == {survivor.name}
        with proxy.client() as client:
            _, signed_in = _sign_in(client, "sam.smith", deployment.passwords["sam.smith"])
            assert signed_in.status_code == 303, signed_in.text
            assert client.get("/account").status_code == 200
    finally:
        stop.set()
        worker.join(timeout=30)
        proxy.stop()
        victim.stop(signal.SIGKILL)
