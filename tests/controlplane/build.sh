#!/usr/bin/env bash
# Build the test control plane from Go modules at the versions pinned in pins.env.
# Each component lands in $CACHE/<component>-<version>-<recipe>/bin and is rebuilt only when
# its pin (or RECIPE) changes. The cache lives outside the clone so that a fresh CI clone on
# the same machine reuses it; Go's own GOCACHE/GOMODCACHE are left at their defaults.
# Usage: build.sh [LABEL...]          build what is missing (only LABELs if given), print
#                                     LABEL=<bin directory> for each component
#        build.sh --print            print only; a component not built is "MISSING LABEL=..."
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=pins.env
source "$HERE/pins.env"
CACHE="${RECLAIMER_CONTROLPLANE_CACHE:-$HOME/.cache/reclaimer-controlplane}"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED=0

log() { printf '[controlplane %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# new_wrapper DIR MODULE VERSION: a throwaway main module that requires MODULE@VERSION.
new_wrapper() {
  rm -rf "$1" && mkdir -p "$1"
  printf 'module reclaimer.test/controlplane/wrapper\n\ngo 1.24.1\n\nrequire %s %s\n' \
    "$2" "$3" >"$1/go.mod"
}

# gomod_dir MODULE VERSION: where the module's source sits in GOMODCACHE.
gomod_dir() { go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# build_in WRAPPER OUT VERSION PKG...: resolve each main package at the pinned VERSION of
# its module (a bare `go get PKG` would take the newest release) and build it into OUT.
build_in() {
  local wrapper="$1" out="$2" version="$3"; shift 3
  (cd "$wrapper" && for pkg in "$@"; do
     go get "$pkg@$version"
     go build -o "$out/" "$pkg"
   done)
  grep -q "$version" "$wrapper/go.mod" || { log "pin $version lost in $wrapper/go.mod"; exit 1; }
}

build_kubernetes() {
  build_kubernetes_cmds "$1" k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}

# build_kubernetes_cmds DIR PKG...: main packages of k8s.io/kubernetes at K8S_VERSION.
build_kubernetes_cmds() {
  local w="$1/src" src dir="$1"; shift
  new_wrapper "$w" k8s.io/kubernetes "$K8S_VERSION"
  src="$(gomod_dir k8s.io/kubernetes "$K8S_VERSION")"
  # Every staging module k8s.io/kubernetes replaces with ./staging/... goes to its published v0.Y.Z.
  local staging="v0.${K8S_VERSION#v1.}"
  { echo; echo 'replace ('
    sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging"'#p' "$src/go.mod"
    echo ')'; } >>"$w/go.mod"
  build_in "$w" "$dir/bin" "$K8S_VERSION" "$@"
}

# kubectl from the same release: kwokctl checks the cluster with `kubectl get --raw /version`.
build_kubectl() {
  build_kubernetes_cmds "$1" k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
  local w="$1/src" src
  new_wrapper "$w" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  src="$(gomod_dir go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
  # server/v3 replaces its sibling modules with ../ paths; use the same release of each.
  { echo; echo 'replace ('
    sed -n 's#^\t\(go.etcd.io/etcd/[a-z/0-9]*\) => \.\./.*#\t\1 => \1 '"$ETCD_VERSION"'#p' "$src/go.mod"
    echo ')'; } >>"$w/go.mod"
  build_in "$w" "$1/bin" "$ETCD_VERSION" go.etcd.io/etcd/server/v3
  mv "$1/bin/server" "$1/bin/etcd"  # the main package is the directory server/
}

build_kwok() {
  local w="$1/src"
  new_wrapper "$w" sigs.k8s.io/kwok "$KWOK_VERSION"
  build_in "$w" "$1/bin" "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
}

# build_kserve DIR VERSION: cmd/manager with that release's own replace lines copied over.
build_kserve() {
  local w="$1/src" src
  new_wrapper "$w" github.com/kserve/kserve "$2"
  src="$(gomod_dir github.com/kserve/kserve "$2")"
  { echo; sed -n '/^replace (/,/^)/p; /^replace [^(]/p' "$src/go.mod"; } >>"$w/go.mod"
  build_in "$w" "$1/bin" "$2" github.com/kserve/kserve/cmd/manager
}

# ensure LABEL NAME VERSION BUILDER [ARGS]: build unless the stamped bin directory exists;
# print LABEL=<bin directory>.
ensure() {
  local label="$1" name="$2" version="$3" builder="$4"; shift 4
  local dir="$CACHE/$name-$version-$RECIPE"
  if [[ -n "$ONLY" && " $ONLY " != *" $label "* ]]; then return; fi
  if [[ ! -f "$dir/bin/.complete" && "$PRINT_ONLY" == 0 ]]; then
    # One builder per component: a second `make controlplane` waits, then finds it built.
    mkdir -p "$CACHE"
    exec {lock}>"$dir.lock"
    flock "$lock"
  fi
  if [[ ! -f "$dir/bin/.complete" ]]; then
    [[ "$PRINT_ONLY" == 1 ]] && { echo "MISSING $label=$dir/bin"; return; }
    local t0=$SECONDS
    log "building $name $version into $dir/bin"
    rm -rf "$dir/bin" && mkdir -p "$dir/bin"
    "$builder" "$dir" "$@"
    rm -rf "$dir/src"
    touch "$dir/bin/.complete"
    log "built $name $version in $((SECONDS - t0)) s"
  fi
  echo "$label=$dir/bin"
}

main() {
  PRINT_ONLY=0
  [[ "${1:-}" == "--print" ]] && { PRINT_ONLY=1; shift; }
  ONLY="$*"
  if [[ "$PRINT_ONLY" == 0 ]] && ! command -v go >/dev/null; then
    log "go not found on PATH: cannot build the control plane"; exit 3
  fi
  ensure etcd etcd "$ETCD_VERSION" build_etcd
  ensure kubernetes kubernetes "$K8S_VERSION" build_kubernetes
  ensure kwok kwok "$KWOK_VERSION" build_kwok
  for v in $KSERVE_VERSIONS; do ensure "kserve-$v" kserve "$v" build_kserve "$v"; done
  ensure kubectl kubectl "$K8S_VERSION" build_kubectl
}

main "$@"
