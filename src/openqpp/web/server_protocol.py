"""The HTTP/1.1 protocol `openqpp serve` runs: uvicorn's httptools protocol with a bound on the
request head (request line and headers).

uvicorn's httptools protocol keeps every byte of a request's head until the head is complete:
one client could send megabytes of header lines (or a 10 MB URL) and the worker would hold them
all and pass them to the application (tests/e2e/api/test_server_limits.py). A proxy in front
bounds heads too (nginx: ``large_client_header_buffers``), but an instance must not depend on
one. Here the bytes that arrive while a head is still open are counted; once they pass
``OPENQPP_MAX_REQUEST_HEAD_BYTES`` the request is answered ``431 OQ-REQ-431`` (JSON, like the
application's errors) and the connection is closed, before the application sees it. A worker
then holds at most the limit plus one socket read (256 KiB) of any request's head.

A head that ends inside one read is measured to its blank line, so a body sent with it is not
counted. Bodies are not counted here (the routes bound theirs: ``openqpp.web.limits``).
"""

from __future__ import annotations

import json
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from openqpp.settings import get_settings
from openqpp.web.errors import error_body

CODE: Final = "OQ-REQ-431"


def head_too_large(limit: int) -> bytes:
    """The whole 431 answer, as bytes on the wire."""
    body = json.dumps(
        error_body(
            431,
            f"The request's line and headers are larger than this server takes ({limit:,} "
            "bytes); nothing was done. Send shorter headers (one Authorization token, no "
            "oversized cookies or custom headers) and a shorter address.",
            code=CODE,
        )
    ).encode()
    return b"".join(
        (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            b"content-type: application/json\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"cache-control: no-store\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n",
            b"\r\n",
            body,
        )
    )


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose head passes the limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_limit = get_settings().max_request_head_bytes
        self.head_open = True
        """From the connection's start, or the end of a request, to the end of the next head."""
        self.head_bytes = 0
        self.head_tail = b""
        """The last bytes of the head so far (its blank line may come split over two reads)."""
        self.refused = False

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.head_open:
            seen = self.head_tail + data
            end = seen.find(b"\r\n\r\n")
            size = self.head_bytes + (len(data) if end < 0 else end + 4 - len(self.head_tail))
            if size > self.head_limit:
                self.refuse_head()
                return
            self.head_bytes += len(data)
            self.head_tail = seen[-3:]
        super().data_received(data)

    def refuse_head(self) -> None:
        """Answer 431 and close, without feeding the parser or starting the application."""
        self.refused = True
        self.logger.warning("Request head over %d bytes refused (431).", self.head_limit)
        if not self.transport.is_closing():
            self.transport.write(head_too_large(self.head_limit))
            self.transport.close()

    def on_headers_complete(self) -> None:
        self.head_open = False
        self.head_bytes = 0
        self.head_tail = b""
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.head_open = True
        super().on_message_complete()
