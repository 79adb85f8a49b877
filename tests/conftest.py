"""Suite-wide settings; each area keeps its fixtures in its own conftest."""

from __future__ import annotations

import freezegun

# freezegun scans loaded modules and trips kubernetes' lazy imports (tooling.md §1).
freezegun.configure(extend_ignore_list=["kubernetes"])

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.postgres",
    "tests.fixtures.prometheus",
    "tests.fixtures.webhook",
]
