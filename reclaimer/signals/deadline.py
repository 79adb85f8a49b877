"""A ``requests.Session`` whose responses must be complete by a deadline.

requests' ``timeout`` bounds the connect and each socket read, not the whole answer:
a server that trickles its body a few bytes at a time can hold a plain session for
ever. This session streams the body and checks the deadline between reads
(``urllib3`` ``HTTPResponse.read1``: at most one socket read each), so a slow body ends
at the deadline plus at most one read. It is handed to ``PrometheusConnect(session=)``.
A server that trickles its *headers* is still bounded only per read (http.client
reads them line by line); that is the one known gap.
"""

from __future__ import annotations

import time
from typing import Any

import requests

_CHUNK = 64 * 1024


class DeadlineSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.deadline: float | None = None

    def request(self, method: str, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        if self.deadline is None:
            return super().request(method, url, *args, **kwargs)
        kwargs["stream"] = True
        response = super().request(method, url, *args, **kwargs)
        try:
            body = self._read(response, self.deadline)
        finally:
            response.close()
        response._content = body
        return response

    @staticmethod
    def _read(response: requests.Response, deadline: float) -> bytes:
        body = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise requests.ReadTimeout("answer not complete by the deadline")
            chunk = response.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                return bytes(body)
            body += chunk
