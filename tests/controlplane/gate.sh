#!/usr/bin/env bash
# Decide whether `make test` runs the controlplane tier, building it first (cached).
# exit 0: built, run it; exit 1: skip it (one line on stderr says why);
# exit 2: RECLAIMER_REQUIRE_CONTROLPLANE=1 and it cannot run (CI: a failure, not a skip).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
why=""
if ! command -v go >/dev/null; then
  why="Go is not installed (the tier builds kube-apiserver, etcd, kwok and KServe from Go modules)"
elif ! "$HERE/build.sh" >/dev/null; then
  why="make controlplane failed (see the build output above)"
fi
[[ -z "$why" ]] && exit 0
if [[ "${RECLAIMER_REQUIRE_CONTROLPLANE:-}" == 1 ]]; then
  echo "controlplane tier REQUIRED but cannot run: $why" >&2
  exit 2
fi
echo "controlplane tier SKIPPED: $why" >&2
exit 1
