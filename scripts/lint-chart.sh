#!/usr/bin/env bash
# Checks the Helm chart and the Dockerfile with real tools (run by `make lint-chart`):
# helm lint --strict and helm template for the default (SQLite), HA (PostgreSQL) and
# watched (watchNamespaces: Roles, no ClusterRole) values, kubernetes-validate --strict
# on everything rendered including crds/ (the ValidatingAdmissionPolicy from 1.30 on),
# hadolint.
# Custom resources (ReclaimPolicy, ServiceMonitor) have no schema in
# kubernetes-validate; tests/chart validates ReclaimPolicy documents with jsonschema.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM=.tools/helm
BIN=.venv/bin
CHART=helm/reclaimer
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion), the first with
# admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy, and a current one.
KUBE_VERSIONS="${KUBE_VERSIONS:-1.27.0 1.30.0 1.33.0}"

scripts/fetch-tools.sh
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
export HELM_CACHE_HOME="$OUT/helm/cache" HELM_CONFIG_HOME="$OUT/helm/config" \
       HELM_DATA_HOME="$OUT/helm/data"

for variant in default ha watched api; do
  values=()
  [ "$variant" != default ] && values=(--values "$CHART/ci/$variant-values.yaml")
  echo "lint-chart: $variant values"
  "$HELM" lint --strict --quiet "$CHART" "${values[@]}"
  for kube in $KUBE_VERSIONS; do
    rendered="$OUT/$variant-$kube.yaml"
    "$HELM" template reclaimer "$CHART" --namespace reclaimer --include-crds \
      --kube-version "$kube" "${values[@]}" > "$rendered"
    "$BIN/kubernetes-validate" --strict --quiet --no-warn -k "$kube" "$rendered"
  done
done

echo "lint-chart: Dockerfile"
"$BIN/hadolint" Dockerfile
echo "lint-chart: ok"
