"""``python -m reclaimer.signals.rules``: the rules file (`reclaimer.signals.rules.main`).

A ``__main__`` module of its own: ``reclaimer.signals`` imports the rules (through the
adapter), so running the rules module itself as ``__main__`` would execute a second copy
of a module already imported, which runpy warns about (RuntimeWarning) on stderr.
"""

from __future__ import annotations

import sys

from reclaimer.signals.rules import main

sys.exit(main(sys.argv[1:]))
