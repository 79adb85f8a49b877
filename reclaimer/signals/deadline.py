"""A ``requests.Session`` whose responses must be complete by a deadline.

requests' ``timeout`` bounds the connect and each socket read, not the whole answer:
a server that trickles its body a few bytes at a time can hold a plain session for
ever. This session streams the body and checks the deadline between reads
(``urllib3`` ``HTTPResponse.read1``: at most one socket read each), so a slow body ends
at the deadline plus at most one read. It is handed to ``PrometheusConnect(session=)``.
A caller that asks ``stream=True`` reads the chunks itself (`DeadlineSession.body`), as
the adapter does to parse an answer while it arrives.
A server that trickles its *headers* is still bounded only per read (http.client
reads them line by line); that is the one known gap.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests

_CHUNK = 64 * 1024


class DeadlineSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.deadline: float | None = None

    def request(self, method: str, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        """With a deadline, the body is read by it: whole, or, for ``stream=True``, by
        the caller through `body` (which must close the response)."""
        if self.deadline is None:
            return super().request(method, url, *args, **kwargs)
        streamed = kwargs.get("stream", False)
        kwargs["stream"] = True
        response = super().request(method, url, *args, **kwargs)
        if streamed:
            return response
        try:
            body = b"".join(self.body(response))
        finally:
            response.close()
        response._content = body
        return response

    def body(self, response: requests.Response) -> Iterator[bytes]:
        """The body's chunks as they arrive; `requests.ReadTimeout` past the deadline."""
        deadline = self.deadline
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise requests.ReadTimeout("answer not complete by the deadline")
            chunk = response.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                return
            yield chunk
