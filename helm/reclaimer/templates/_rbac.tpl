{{/* The rules of the service's own API calls, nothing more (issue 8). All of them are on
namespaced resources, so the same list serves the ClusterRole (every namespace) and,
with watchNamespaces, one Role per watched namespace. Namespaced needs of the
release itself (the leader Lease, KServe's ConfigMap) live in role.yaml. */}}
{{- define "reclaimer.rules" -}}
- apiGroups: ["serving.kserve.io"]
  resources: ["inferenceservices"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["serving.kserve.io"]
  resources: ["inferenceservices/status"]
  verbs: ["patch"]
# LLMInferenceServices (KServe >= 0.17) and InferenceGraphs (>= 0.16): observed where
# their CRDs exist and stopped only with KServe's own annotation (no status writes).
- apiGroups: ["serving.kserve.io"]
  resources: ["llminferenceservices", "inferencegraphs"]
  verbs: ["get", "list", "watch", "patch"]
{{- if include "reclaimer.managedAllowed" . }}
# Managed stops (Raw/Standard, KServe without native stop): find the component
# Deployments by KServe's label, then scale them through the scale subresource only
# (reclaimer/kube/cluster.py component_deployments, scale_deployment).
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["patch"]
# Who else owns those replicas (reclaimer/executor/managed/owners.py): a KEDA
# ScaledObject is paused with its paused-replicas annotation and restored on start;
# an HPA not made by KServe or KEDA, or an Argo Rollout, is a refusal.
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["list", "patch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["list"]
# ModelMesh runtime-level reclaim (reclaimer/executor/managed/runtime.py): the
# ServingRuntime's spec.replicas to 0 and back; verified by its Deployment
# modelmesh-serving-<runtime> (one GET) and that Deployment's pods.
- apiGroups: ["serving.kserve.io"]
  resources: ["servingruntimes"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get"]
{{- end }}
# Verifying a stop: the InferenceService's pods are gone, so the GPU is really free.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
# Policies come from a watch-backed cache (reclaimer/kube/policies.py): no single GETs.
- apiGroups: ["reclaimer.io"]
  resources: ["reclaimpolicies"]
  verbs: ["list", "watch"]
- apiGroups: ["reclaimer.io"]
  resources: ["reclaimpolicies/status"]
  verbs: ["patch"]
{{- end }}

{{/* watchNamespaces, checked: a Role per namespace, so each must be a namespace name. */}}
{{- define "reclaimer.watchNamespaces" -}}
{{- range .Values.watchNamespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" .) }}
{{- fail (printf "watchNamespaces: %q is not a namespace name" .) }}
{{- end }}
{{- end }}
{{- .Values.watchNamespaces | uniq | toJson }}
{{- end }}

{{/* The ValidatingAdmissionPolicy is rendered where its v1 API exists (Kubernetes 1.30). */}}
{{- define "reclaimer.admissionPolicy" -}}
{{- if and .Values.admissionPolicy.enabled (semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version) }}true{{ end }}
{{- end }}
