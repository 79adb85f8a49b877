"""Verbs of the `reclaimer` command that need the sandbox: ``demo`` and ``sandbox``.

They live in the development distribution (dev/pyproject.toml), not in the product, and
reach the command through the ``reclaimer.verbs`` entry point, which loads `VERBS`. This
module imports nothing, so ``reclaimer --help`` lists the verbs without loading them.
"""

from __future__ import annotations

# verb -> (module, summary), as reclaimer.cli.commands.VERBS but with full module names
VERBS: dict[str, tuple[str, str]] = {
    "sandbox": ("reclaimer_dev.sandbox_cmd",
                "run the sandbox Kubernetes API with its KServe simulator"),
    "demo": ("reclaimer_dev.demo", "run the whole loop on a sandbox cluster over the last "
                                   "full week and print what happens"),
}
