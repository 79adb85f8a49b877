"""The demo's arguments, refused in one line before anything starts."""

from __future__ import annotations

from pathlib import Path

from reclaimer.errors import ArgumentInvalid


def days(text: str, *, maximum: int) -> int:
    try:
        number = int(text)
    except ValueError as exc:
        raise ArgumentInvalid(f"--days: {text!r} is not a whole number of days") from exc
    if not 1 <= number <= maximum:
        raise ArgumentInvalid(f"--days: {number} is not between 1 and {maximum}")
    return number


def check_policies(path: Path) -> None:
    """The demo is about policies: a path without a valid one is a mistake, not a
    quiet week in which nothing happens."""
    from reclaimer.policy.loading import load_paths  # noqa: PLC0415 - loaded per verb

    if not path.exists():
        raise ArgumentInvalid(f"--policies: {path}: no such file or directory")
    policies, errors = load_paths([path])
    if errors:
        raise ArgumentInvalid(f"--policies: {errors[0]}")
    if not policies:
        raise ArgumentInvalid(f"--policies: {path} holds no ReclaimPolicy")


def make_out_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".reclaimer-demo-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ArgumentInvalid(f"--out: cannot write to {path}: "
                              f"{exc.strerror or exc}") from exc
