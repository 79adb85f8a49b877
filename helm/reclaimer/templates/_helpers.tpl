{{/* Names are cut to 63 characters: Kubernetes label values and DNS names stop there. */}}
{{- define "reclaimer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reclaimer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "reclaimer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reclaimer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reclaimer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "reclaimer.labels" -}}
helm.sh/chart: {{ include "reclaimer.chart" . }}
{{ include "reclaimer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: reclaimer
{{- end }}

{{- define "reclaimer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "reclaimer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "reclaimer.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* PostgreSQL (and with it HA) is on when a URL is given inline or through a Secret. */}}
{{- define "reclaimer.postgres" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{- define "reclaimer.replicas" -}}
{{- if not (kindIs "invalid" .Values.replicaCount) }}
{{- .Values.replicaCount }}
{{- else if include "reclaimer.postgres" . }}2
{{- else }}1
{{- end }}
{{- end }}

{{- define "reclaimer.databaseSecretName" -}}
{{- default (printf "%s-database" (include "reclaimer.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "reclaimer.sqliteUrl" -}}
{{- printf "sqlite:///%s/reclaimer.db" .Values.database.sqlite.mountPath }}
{{- end }}

{{- define "reclaimer.pvcName" -}}
{{- default (printf "%s-data" (include "reclaimer.fullname" .)) .Values.database.sqlite.persistence.existingClaim }}
{{- end }}

{{- define "reclaimer.leaseName" -}}
{{- default (printf "%s-leader" (include "reclaimer.fullname" .)) .Values.config.leaderElection.name }}
{{- end }}

{{/* Managed stops scale Deployments; native stops never touch them (docs/design.md §5). */}}
{{- define "reclaimer.managedAllowed" -}}
{{- if has .Values.config.executor.strategy (list "auto" "managed") }}true{{ end }}
{{- end }}

{{/* The service's config file (docs/design.md §8). The PostgreSQL URL is not written here: it
comes from a Secret through RECLAIMER_DATABASE, so the ConfigMap holds no password. */}}
{{- define "reclaimer.configFile" -}}
{{- $c := .Values.config -}}
{{- if not (include "reclaimer.postgres" .) }}
database: {{ include "reclaimer.sqliteUrl" . | quote }}
{{- end }}
kubeconfig: null
policies:
{{- if .Values.policies }}
  - /etc/reclaimer/policies/
{{- else }} []
{{- end }}
tick: {{ $c.tick | quote }}
prometheus:
  {{- toYaml $c.prometheus | nindent 2 }}
executor:
  {{- toYaml $c.executor | nindent 2 }}
safety:
  {{- toYaml $c.safety | nindent 2 }}
leaderElection:
  {{- toYaml (omit $c.leaderElection "name") | nindent 2 }}
  namespace: {{ .Release.Namespace | quote }}
  name: {{ include "reclaimer.leaseName" . | quote }}
http:
  port: 8080
{{- if .Values.api.enabled }}
api:
  enabled: true
  port: {{ .Values.api.port }}
  {{- with .Values.api.externalUrl }}
  externalUrl: {{ . | quote }}
  {{- end }}
{{- end }}
{{- if .Values.notify.sinks }}
notify:
  sinks:
    {{- toYaml .Values.notify.sinks | nindent 4 }}
{{- end }}
kserve:
  namespace: {{ .Values.kserve.namespace | quote }}
{{- if .Values.watchNamespaces }}
watchNamespaces: {{ include "reclaimer.watchNamespaces" . }}
{{- end }}
{{- end }}

{{/* The container environment, shared by the service and its db-upgrade step. */}}
{{- define "reclaimer.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
# The replica identity in the Lease and in the ledger's actor column.
- name: RECLAIMER_LEADER_ELECTION_IDENTITY
  value: "$(POD_NAME)"
- name: RECLAIMER_ACTOR
  value: "$(POD_NAME)"
# glibc malloc: two arenas, not eight per core, for the worker threads; lowers the
# peak RSS at 10,000 services by about 15 MiB (benchmarks/RESULTS.md, issue 9).
- name: MALLOC_ARENA_MAX
  value: "2"
# Also in the environment (not only the config file) so that `kubectl exec
# ... reclaimer history` and the other ledger commands find the same ledger.
- name: RECLAIMER_DATABASE
{{- if include "reclaimer.postgres" . }}
  valueFrom:
    secretKeyRef:
      name: {{ include "reclaimer.databaseSecretName" . }}
      key: {{ .Values.database.existingSecretKey }}
{{- else }}
  value: {{ include "reclaimer.sqliteUrl" . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}
