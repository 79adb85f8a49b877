"""A replica SIGKILLed between an external change's row and its claim leaves neither.

Row and claim are one transaction: killed after the row's INSERT and before the claim's,
the database keeps nothing, so the change is neither booked without its claim (and booked
again by the next replica) nor claimed without its row (and never booked). The kill is
real, in a child process, on SQLite on a file and on PostgreSQL 15.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from reclaimer.ledger import Ledger, SqlLedger
from reclaimer.model import Action, Reason, Trigger
from tests.ledger.builders import LLAMA, at, transition

pytestmark = pytest.mark.timeout(60)
CHILD = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy import event
    from reclaimer.ledger import SqlLedger
    from reclaimer.model import Action, Reason, Trigger
    from tests.ledger.builders import at, transition

    ledger = SqlLedger.open(sys.argv[1])

    def kill(_conn, _cursor, statement, *_):
        if statement.startswith("INSERT INTO external_claims"):
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(ledger._engine, "before_cursor_execute", kill)
    change = transition(action=Action.START, trigger=Trigger.EXTERNAL,
                        reason=Reason.EXTERNAL_CHANGE, policy=None, edge=False, hours=2)
    ledger.record_external(change, field_manager="kubectl", at=at(2), key="k")
""")


def test_a_kill_between_row_and_claim_leaves_the_change_to_the_next_replica(
        ledger: Ledger, request: pytest.FixtureRequest) -> None:
    if not isinstance(ledger, SqlLedger):
        pytest.skip("a process of its own needs a database of its own")
    url = ledger._engine.url.render_as_string(hide_password=False)
    ours = ledger.record_planned(transition(hours=1), strategy="annotation", actor="test",
                                 at=at(1))
    ledger.mark_applied(ours.id, at=at(1))
    child = subprocess.run([sys.executable, "-c", CHILD, url], check=False, timeout=30,
                           cwd=request.config.rootpath, capture_output=True)
    left = (ledger.history()[0].id, ledger.view(at(3)).last_transitions[LLAMA].action)
    again = ledger.record_external(transition(
        action=Action.START, trigger=Trigger.EXTERNAL, reason=Reason.EXTERNAL_CHANGE,
        policy=None, edge=False, hours=2), field_manager="kubectl", at=at(2), key="k")
    assert (child.returncode, left, again is not None) == (
        -signal.SIGKILL, (ours.id, Action.STOP), True)
