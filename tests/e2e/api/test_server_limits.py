"""Request heads through the real server (`openqpp serve`, uvicorn with httptools): a head
(request line and headers) past OPENQPP_MAX_REQUEST_HEAD_BYTES is refused 431 OQ-REQ-431 before
the application reads it, and the connection closed; heads within the limit, however many on one
connection, and large bodies pass (openqpp.web.server_protocol). In process (TestClient) there is
no HTTP parser, so only a real server shows this."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.live import LiveServer, start_server, stop_server

from openqpp.batch.demo import MIAMI_MEDICAL

LIMIT = 16_384
"""The limit the server under test runs with (OPENQPP_MAX_REQUEST_HEAD_BYTES)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("limits"),
        extra_env={"OPENQPP_MAX_REQUEST_HEAD_BYTES": str(LIMIT), "OPENQPP_LOG_LEVEL": "info"},
    )
    yield live
    stop_server(live)


def _address(server: LiveServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _read_answers(sock: socket.socket, count: int = 1) -> list[tuple[int, bytes]]:
    """``count`` HTTP/1.1 answers (status, body) with Content-Length, or those there are until
    the server closes the connection."""
    buffer = b""
    answers: list[tuple[int, bytes]] = []
    sock.settimeout(30)
    while len(answers) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buffer[:head_end].decode("latin-1")
            length = next(
                int(line.split(":", 1)[1])
                for line in head.split("\r\n")
                if line.lower().startswith("content-length:")
            )
            if len(buffer) >= head_end + 4 + length:
                body = buffer[head_end + 4 : head_end + 4 + length]
                answers.append((int(head.split(" ")[1]), body))
                buffer = buffer[head_end + 4 + length :]
                continue
        try:
            chunk = sock.recv(65_536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buffer += chunk
    return answers


def _send_until_refused(sock: socket.socket, head: bytes, total: int) -> int:
    """Send ``head`` and then header lines up to ``total`` bytes in all, as a client would that
    does not stop; returns the bytes the server let in before it closed the connection."""
    sent = 0
    line = b"X-Filler: " + b"a" * 8_000 + b"\r\n"
    try:
        sock.sendall(head)
        sent += len(head)
        while sent < total:
            sock.sendall(line)
            sent += len(line)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def _refusal(answers: list[tuple[int, bytes]]) -> dict[str, str]:
    assert len(answers) == 1, answers
    status, body = answers[0]
    assert status == 431, body[:300]
    error: dict[str, str] = json.loads(body)["error"]
    return error


@pytest.mark.parametrize("where", ["headers", "address"])
def test_a_request_head_over_the_limit_is_refused_before_the_application_reads_it(
    server: LiveServer, where: str
) -> None:
    long_path = "/api/eligibility/npi/" + "1" * (3 * LIMIT)
    with socket.create_connection(_address(server)) as sock:
        if where == "address":
            head = f"GET {long_path} HTTP/1.1\r\nHost: openqpp\r\n\r\n".encode()
            sent = _send_until_refused(sock, head, len(head))
        else:
            head = b"GET /healthz HTTP/1.1\r\nHost: openqpp\r\n"
            sent = _send_until_refused(sock, head, 20_000_000)
        error = _refusal(_read_answers(sock))
        assert sock.recv(1) == b"", "the connection is closed after the refusal"
    assert error["code"] == "OQ-REQ-431"
    assert f"{LIMIT:,} bytes" in error["message"]
    assert "nothing was done" in error["message"]
    # The server stopped reading long before a client that never stops would have finished
    # (what got in is the limit, a socket read and the kernel's buffers).
    assert sent < 20_000_000
    time.sleep(0.2)
    log = Path(server.log).read_text()
    assert "Request head over" in log
    assert long_path not in log, "the refused request reached the application's access log"
    # and the instance goes on answering
    with socket.create_connection(_address(server)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: openqpp\r\nConnection: close\r\n\r\n")
        assert _read_answers(sock)[0][0] == 200


def test_heads_within_the_limit_pass_however_many_one_connection_carries(
    server: LiveServer,
) -> None:
    """The count starts again with each request: three heads of 3/4 of the limit on one
    keep-alive connection (more than twice the limit together) are all answered."""
    padding = "b" * (LIMIT * 3 // 4)
    request = f"GET /healthz HTTP/1.1\r\nHost: openqpp\r\nX-Padding: {padding}\r\n\r\n".encode()
    with socket.create_connection(_address(server)) as sock:
        sock.sendall(request * 3)  # pipelined
        answers = _read_answers(sock, 3)
    assert [status for status, _ in answers] == [200, 200, 200]


def test_a_body_larger_than_the_head_limit_is_not_counted_as_head(server: LiveServer) -> None:
    rows = "tin\n" + f"{MIAMI_MEDICAL}\n" * 6_000  # ~60 KB: beyond the head limit, one read
    body = rows.encode()
    assert len(body) > 3 * LIMIT
    head = (
        "POST /api/eligibility/roster HTTP/1.1\r\nHost: openqpp\r\nContent-Type: text/csv\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(_address(server)) as sock:
        sock.sendall(head + body)
        ((status, answer),) = _read_answers(sock)
    assert status != 431, answer[:300]
    assert status < 500, answer[:300]
    assert "OQ-REQ-431" not in answer.decode()
