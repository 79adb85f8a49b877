"""Serving the review endpoints of `reviews` through the server's fault table."""

from __future__ import annotations

import time

from kubesandbox.apierror import REASONS
from kubesandbox.faults import FaultInjector
from kubesandbox.handlers import Request, Response
from kubesandbox.reviews import Reviews, failure_status


def review(reviews: Reviews, faults: FaultInjector, req: Request) -> Response:
    """POST only; an injected fault on ``create`` of the review kind answers first."""
    plural = reviews.handles(req.path)
    if req.method != "POST":
        return Response(405, failure_status(405, f"{req.method} is not allowed on {req.path}"))
    fault = faults.take("create", str(plural), None, None)
    if fault is not None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status is not None:
            return Response(fault.status, failure_status(fault.status, fault.message or (
                f"injected fault: {REASONS.get(fault.status, 'InternalError')}")))
    code, body = reviews.answer(req.path, req.body)
    return Response(code, body)
