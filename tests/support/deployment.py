"""The production configuration in deploy/, run for real in a temporary directory: the example
environment file and the systemd units give each `openqpp` process its settings and command
line, and nginx runs deploy/nginx/openqpp.conf with only its ports, certificate paths and
instance addresses replaced (see render_site)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from openqpp.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SITE = DEPLOY / "nginx" / "openqpp.conf"
ENV_EXAMPLE = DEPLOY / "openqpp.env.example"
INSTANCE_UNIT = DEPLOY / "systemd" / "openqpp@.service"
MIGRATE_UNIT = DEPLOY / "systemd" / "openqpp-migrate.service"
INSTALLED_OPENQPP = "/opt/openqpp/venv/bin/openqpp"
"""Where the units expect openqpp; here it is this checkout's (`python -m openqpp.cli`)."""
PASSED_THROUGH = ("PATH", "HOME", "LANG", "TMPDIR")
"""The only variables of the test's own environment an openqpp process gets (systemd starts
services with a clean environment too)."""


def nginx_path() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- settings and units


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """A systemd EnvironmentFile's KEY=VALUE lines (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, _, value = text.partition("=")
        values[key.strip()] = value.strip()
    return values


def unknown_settings(names: list[str]) -> list[str]:
    """The OPENQPP_* names that are no setting of openqpp (pydantic would silently ignore them)."""
    known = {f"OPENQPP_{name.upper()}" for name in Settings.model_fields}
    return [name for name in names if name not in known]


def unit_lines(unit: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1].strip()
        for line in unit.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"{key}=")
    ]


def unit_command(unit: Path, instance: str = "") -> list[str]:
    """The unit's ExecStart, %i filled in, run with this checkout's openqpp."""
    (exec_start,) = unit_lines(unit, "ExecStart")
    argv = shlex.split(exec_start.replace("%i", instance))
    assert argv[0] == INSTALLED_OPENQPP, argv
    return [sys.executable, "-m", "openqpp.cli", *argv[1:]]


def unit_environment(unit: Path, instance: str = "") -> dict[str, str]:
    """The unit's Environment= lines (%i and %H filled in)."""
    values: dict[str, str] = {}
    for line in unit_lines(unit, "Environment"):
        key, _, value = line.partition("=")
        values[key] = value.replace("%i", instance).replace("%H", socket.gethostname())
    return values


def process_env(unit: Path, instance: str, overrides: dict[str, str]) -> dict[str, str]:
    """What systemd would give the unit's process: its EnvironmentFile (the example, with
    ``overrides`` for this machine's database and paths) and its Environment= lines."""
    assert unit_lines(unit, "EnvironmentFile") == ["/etc/openqpp/openqpp.env"]
    base = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    return {**base, **env_file(), **overrides, **unit_environment(unit, instance)}


# ---------------------------------------------------------------- instances


@dataclass
class Instance:
    port: int
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def requests(self) -> list[dict[str, object]]:
        """The access log lines (one JSON object per request) written so far."""
        found = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("message") == "request":
                    found.append(entry)
        return found

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


def start_instance(
    tmp: Path, overrides: dict[str, str], *, extra_args: tuple[str, ...] = (), ready: bool = True
) -> Instance:
    """`openqpp serve` as openqpp@PORT.service runs it; waits until /healthz answers (200, or
    503 when ``ready`` is False: an instance whose database is not migrated)."""
    port = free_port()
    workdir = tmp / f"instance-{port}"
    workdir.mkdir()
    env = process_env(INSTANCE_UNIT, str(port), overrides)
    log = workdir / "server.log"
    process = subprocess.Popen(
        [*unit_command(INSTANCE_UNIT, str(port)), *extra_args],
        env=env,
        cwd=workdir,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    instance = Instance(port, env["OPENQPP_INSTANCE_NAME"], process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"openqpp on port {port} exited early:\n{instance.text()}")
        try:
            status = httpx.get(f"{instance.url}/healthz", timeout=2).status_code
            if status == (200 if ready else 503):
                return instance
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    instance.stop(signal.SIGKILL)
    raise RuntimeError(f"openqpp on port {port} did not start:\n{instance.text()}")


def served_by(instances: list[Instance], request_id: str) -> list[tuple[str, int]]:
    """Which instances logged the request with this id (nginx's $request_id), with the status."""
    return [
        (instance.name, int(str(entry["status"])))
        for instance in instances
        for entry in instance.requests()
        if entry.get("request_id") == request_id
    ]


# ---------------------------------------------------------------- nginx


@dataclass
class Proxy:
    https_port: int
    http_port: int
    process: subprocess.Popen[bytes]
    directory: Path
    certificate: Path
    addresses: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def client(self, source: str = "127.0.0.2", **kwargs: object) -> httpx.Client:
        """An HTTPS client of the proxy that connects from ``source`` (a loopback address other
        than the proxy's own 127.0.0.1, so the instances can tell a client from the proxy)."""
        context = ssl.create_default_context(cafile=str(self.certificate))
        transport = httpx.HTTPTransport(local_address=source, verify=context)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30, **kwargs)  # type: ignore[arg-type]

    def error_log(self) -> str:
        return (self.directory / "error.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _replace(text: str, pattern: str, replacement: str, count: int) -> str:
    result, made = re.subn(pattern, replacement, text, flags=re.M)
    assert made == count, f"deploy/nginx/openqpp.conf: expected {count} of {pattern!r}, {made}"
    return result


def render_site(
    *, https_port: int, http_port: int, addresses: list[str], certificate: Path, key: Path
) -> str:
    """deploy/nginx/openqpp.conf with loopback ports for its two servers (IPv6 listens dropped),
    this test's certificate, and one upstream `server` line per instance address, each with the
    parameters of the file's first one. Everything else is used as written."""
    text = SITE.read_text(encoding="utf-8")
    text = _replace(text, r"^[ \t]*listen \[::\]:\d+.*;\n", "", 2)
    text = _replace(text, r"listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    text = _replace(text, r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", 1)
    text = _replace(text, r"ssl_certificate \S+;", f"ssl_certificate {certificate};", 1)
    text = _replace(text, r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", 1)
    servers = re.findall(r"^([ \t]*)server (\S+)( [^;\n]*)?;$", text, flags=re.M)
    assert len(servers) >= 2, "the upstream should list several instances"
    indent, _, parameters = servers[0]
    lines = "".join(f"{indent}server {a}{parameters};\n" for a in addresses)
    text = _replace(text, r"^[ \t]*server \S+( [^;\n]*)?;\n", "", len(servers))
    return _replace(text, r"(upstream openqpp \{\n)", r"\g<1>" + lines.replace("\\", "\\\\"), 1)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    certificate, key = directory / "proxy.pem", directory / "proxy.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


def start_proxy(nginx: str, directory: Path, addresses: list[str]) -> Proxy:
    """nginx (master and one worker, in the foreground) with the rendered site; temporary files,
    logs and pid under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = self_signed_certificate(directory)
    https_port, http_port = free_port(), free_port()
    (directory / "openqpp.conf").write_text(
        render_site(
            https_port=https_port,
            http_port=http_port,
            addresses=addresses,
            certificate=certificate,
            key=key,
        ),
        encoding="utf-8",
    )
    temp = {name: directory / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    user = "user root root;" if os.geteuid() == 0 else ""  # workers may write the temp dirs
    (directory / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {directory}/access.log;
{"".join(f"    {name}_temp_path {path};{chr(10)}" for name, path in temp.items())}
    include {directory}/openqpp.conf;
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [nginx, "-p", str(directory), "-c", str(directory / "nginx.conf"),
         "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "stderr.log").open("wb"),
    )  # fmt: skip
    proxy = Proxy(https_port, http_port, process, directory, certificate, addresses)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "nginx exited:\n"
                + (directory / "stderr.log").read_text()
                + (directory / "error.log").read_text()
            )
        try:
            with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                return proxy
        except OSError:
            time.sleep(0.1)
    proxy.stop()
    raise RuntimeError("nginx did not start listening")
