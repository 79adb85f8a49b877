"""One error tree for all of reclaimer.

Adapters translate their library's exceptions into these (``raise ... from``), so the
loop and the CLI decide what to do from the type alone: retry next tick, skip one
service, or refuse to start.

::

    ReclaimerError
    ├── InvalidInput                  bad input from a person: exit 1, message names the field
    │   ├── PolicyInvalid             a ReclaimPolicy document (file, index, field path)
    │   ├── ConfigInvalid             the service config (key)
    │   └── ArgumentInvalid           a CLI argument (NS/NAME, a time, a duration)
    ├── MetricsUnavailable            Prometheus failed: every service is unknown this tick
    │   └── PartialAnswer             an answer carried warnings (Thanos/Mimir partial data)
    ├── ClusterError                  the Kubernetes API failed
    │   ├── NotFound                  404: the object is gone (for a delete: already done)
    │   ├── Transient                 worth trying again: the same decision keeps its row
    │   │   ├── Conflict              409: stale resourceVersion, re-read next tick
    │   │   ├── TooManyRequests       429: wait `retry_after` seconds
    │   │   ├── ServerError           5xx (and 408): retry with backoff
    │   │   └── ClusterUnavailable    no answer at all (refused, timed out)
    │   └── Rejected                  the same request would be refused again: the edge
    │       │                         fails once (one row, one Event), the next one tries
    │       ├── Forbidden             403: RBAC, or an admission webhook saying no
    │       ├── Invalid               400, 422 and any other 4xx: the request itself is wrong
    │       ├── ChildMissing          404 on an object the ISVC owns (its Deployment)
    │       ├── RolledBack            one of those midway through a change, which was undone
    │       └── PartiallyApplied      ... and the undo failed too: the service is half-changed
    ├── LedgerError                   the database failed
    │   ├── LedgerUnavailable         cannot connect, or the URL is malformed
    │   ├── SchemaBehind              the schema is behind head: run `reclaimer db upgrade`
    │   ├── SchemaAhead               a newer release migrated it: run that release
    │   ├── SchemaMoved               it moved under an open process: the write is rolled back
    │   ├── EdgeAlreadyClaimed        another replica applied this edge first
    │   └── RowSettled                the row already moved (another process settled it)
    └── ExecutionError                a transition could not be carried out
        └── Refused                   the executor will not act (reason says why)

Errors are classed once, here (docs/design.md §5): `TRANSIENT` are retried with backoff and the
decision keeps its planned row; `PERMANENT` fail the edge once. `is_transient` is the
one question every caller asks.
"""

from __future__ import annotations


class ReclaimerError(Exception):
    """Root of every error reclaimer raises on purpose."""


class InvalidInput(ReclaimerError):
    """Input from a person is wrong; the message says where and how to fix it."""


class PolicyInvalid(InvalidInput):
    """A ReclaimPolicy document is invalid.

    Carries the location so `validate -o json` and CR status can both report it.
    """

    def __init__(self, *, source: str, document: int, field: str, message: str) -> None:
        self.source = source
        self.document = document
        self.field = field
        self.message = message
        super().__init__(f"{source}[{document}]: {field}: {message}")


class ConfigInvalid(InvalidInput):
    """The service configuration is invalid; ``key`` is the dotted config path."""

    def __init__(self, *, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"config {key}: {message}")


class ArgumentInvalid(InvalidInput):
    """A command-line argument is invalid."""


class MetricsUnavailable(ReclaimerError):
    """Prometheus could not answer; nothing about any service is known."""


class PartialAnswer(MetricsUnavailable):
    """An answer came with ``warnings``: some store or tenant shard may be missing.

    Which services the answer missed cannot be told, so none of them is known.
    """

    def __init__(self, message: str, *, query: str, warnings: tuple[str, ...]) -> None:
        self.query = query
        self.warnings = warnings
        super().__init__(message)


class ClusterError(ReclaimerError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class NotFound(ClusterError):
    """The object does not exist (any more)."""


class Transient(ClusterError):
    """A failure that may not happen again: retry with backoff, keep the decision's row."""


class Rejected(ClusterError):
    """The API server refused the request itself; sent again, it is refused again."""


class Forbidden(Rejected):
    """403: the service account may not do this (RBAC, or an admission policy)."""


class Invalid(Rejected):
    """400, 422 or another 4xx: the request is wrong for this object."""


class ChildMissing(Rejected):
    """An object the ISVC should own (a component Deployment) is not there."""


class RolledBack(Rejected):
    """A permanent failure midway through a change of several objects; what was changed
    before it has been put back, so nothing of the change is left."""


class PartiallyApplied(Rejected):
    """A permanent failure midway through a change, and putting back what was changed
    failed too: the service is left half-changed, and the message says how."""


class Conflict(Transient):
    """The object changed since it was read; re-read and decide again."""


class TooManyRequests(Transient):
    """The API server asks to slow down for ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status)


class ServerError(Transient):
    """The API server failed (5xx) or timed the request out (408); retry with backoff."""


class ClusterUnavailable(Transient):
    """The API server did not answer at all."""


class LedgerError(ReclaimerError):
    """The ledger database failed."""


class LedgerUnavailable(LedgerError):
    """The database cannot be reached, or its URL is malformed."""


class SchemaBehind(LedgerError):
    """The database schema is older than this release expects."""


class SchemaAhead(LedgerError):
    """A newer release migrated the database: `db upgrade` from this one cannot help."""


class SchemaMoved(LedgerError):
    """The schema is no longer this release's (a migration committed under a running
    process): the write transaction that found it out was rolled back."""


class EdgeAlreadyClaimed(LedgerError):
    """Another replica recorded this edge key first; this one must not act."""


class RowSettled(LedgerError):
    """The row may not move to the state asked: it is already ``state``. Two processes
    may follow one row (a `reclaimer stop` waiting, the service's recovery resuming
    it); the second to settle it learns the first one's answer from this."""

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class ExecutionError(ReclaimerError):
    """A transition could not be carried out."""


class Refused(ExecutionError):
    """The executor will not act on this service; the message is the reason."""


TRANSIENT = (Transient,)
"""Retried: the planned row stays and the same decision reuses it."""
PERMANENT = (Rejected, Refused)
"""The edge fails once: one ``failed`` row, one Event; the next edge tries again."""


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same request again may succeed. Anything not known to be
    transient (a plain `ClusterError` from an odd library failure included) is not."""
    return isinstance(exc, TRANSIENT)
