{{/* The chart name, or nameOverride: the app.kubernetes.io/name label. */}}
{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The resource name prefix: <release>-<chart>, or the release name alone when it already contains the
chart name. 63 characters is the DNS label limit; 50 leaves room for the role suffixes.
*/}}
{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of a role's resources: include "switchyard.roleName" (list . "relay"). */}}
{{- define "switchyard.roleName" -}}
{{- printf "%s-%s" (include "switchyard.fullname" (index . 0)) (index . 1) }}
{{- end }}

{{- define "switchyard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "switchyard.labels" -}}
helm.sh/chart: {{ include "switchyard.chart" . }}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: switchyard
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of a role's resources: include "switchyard.roleLabels" (list . "relay"). */}}
{{- define "switchyard.roleLabels" -}}
{{ include "switchyard.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Selector labels of a role's pods (immutable in a Deployment: never add to them). */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" (index . 0) }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "switchyard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The chart's Secret: tokens (unless secrets.existingSecret) and the MySQL URL (unless mysql.existingSecret). */}}
{{- define "switchyard.secretName" -}}
{{- include "switchyard.fullname" . }}
{{- end }}

{{- define "switchyard.rendersSecret" -}}
{{- if or (not .Values.secrets.existingSecret) (not .Values.mysql.existingSecret.name) }}true{{ end }}
{{- end }}

{{/* The control-plane address relays dial: its Service's gRPC port. */}}
{{- define "switchyard.controlPlaneAddress" -}}
{{- printf "%s.%s.svc:%d" (include "switchyard.roleName" (list . "control-plane")) .Release.Namespace (.Values.controlPlane.service.grpcPort | int64) }}
{{- end }}

{{/*
Fails rendering, naming the value, unless every external service and secret is given. Called from
each Deployment, so a render without them stops before anything is produced.
*/}}
{{- define "switchyard.validate" -}}
{{- if not .Values.mysql.existingSecret.name }}
{{- $_ := required "mysql.url is required (mysql://user:password@host:3306/database), or set mysql.existingSecret.name: the chart ships no database" .Values.mysql.url }}
{{- end }}
{{- if not .Values.redis.existingSecret.name }}
{{- $_ := required "redis.url is required (redis://host:6379), or set redis.existingSecret.name: the chart ships no Redis" .Values.redis.url }}
{{- end }}
{{- if not .Values.nats.existingSecret.name }}
{{- $_ := required "nats.url is required (nats://host:4222, JetStream enabled), or set nats.existingSecret.name: the chart ships no NATS" .Values.nats.url }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- $_ := required "secrets.internalToken is required (16+ characters, e.g. openssl rand -hex 32), or set secrets.existingSecret" .Values.secrets.internalToken }}
{{- $_ := required "secrets.adminToken is required (16+ characters, e.g. openssl rand -hex 32), or set secrets.existingSecret" .Values.secrets.adminToken }}
{{- $_ := required "secrets.secretKey is required (64 hex characters, e.g. openssl rand -hex 32), or set secrets.existingSecret" .Values.secrets.secretKey }}
{{- end }}
{{- with .Values.declarative }}
{{- if and .enabled (not .existingConfigMap) (not .config) }}
{{- fail "declarative.enabled needs declarative.config (the switchyard.yaml document, version: 1) or declarative.existingConfigMap" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A role's non-secret settings: what the ConfigMap holds, and what its checksum annotation hashes.
include "switchyard.config" (list . "relay").
*/}}
{{- define "switchyard.config" -}}
{{- $ := index . 0 }}
{{- $role := index . 1 }}
{{- $key := get (dict "control-plane" "controlPlane" "relay" "relay" "accounting" "accounting") $role }}
{{- $values := index $.Values $key }}
{{- $data := dict }}
{{- range $k, $v := $.Values.config }}
{{- $_ := set $data $k (include "switchyard.envString" $v) }}
{{- end }}
{{- $_ := set $data "SWITCHYARD_HTTP_PORT" ($.Values.containerPorts.http | int64 | toString) }}
{{- $_ := set $data "SWITCHYARD_DATA_DIR" "/data" }}
{{- $_ := set $data "SWITCHYARD_SHUTDOWN_DRAIN_DELAY_MS" ($values.shutdownDrainDelayMs | int64 | toString) }}
{{- if eq $role "control-plane" }}
{{- $_ := set $data "SWITCHYARD_GRPC_PORT" ($.Values.containerPorts.grpc | int64 | toString) }}
{{- if $.Values.declarative.enabled }}
{{- $_ := set $data "SWITCHYARD_CONFIG_FILE" (include "switchyard.declarativeFile" $) }}
{{- end }}
{{- end }}
{{- if eq $role "relay" }}
{{- $_ := set $data "SWITCHYARD_CONTROL_PLANE_URL" (include "switchyard.controlPlaneAddress" $) }}
{{- $_ := set $data "SWITCHYARD_SPOOL_DIR" "/data/spool" }}
{{- $_ := set $data "SWITCHYARD_SNAPSHOT_FILE" "/data/snapshot.bin" }}
{{- if $values.trustedProxies }}
{{- $_ := set $data "SWITCHYARD_TRUSTED_PROXIES" $values.trustedProxies }}
{{- end }}
{{- end }}
{{- if and (has $role (list "control-plane" "relay")) $.Values.redis.url (not $.Values.redis.existingSecret.name) }}
{{- $_ := set $data "SWITCHYARD_REDIS_URL" $.Values.redis.url }}
{{- end }}
{{- if and (has $role (list "relay" "accounting")) $.Values.nats.url (not $.Values.nats.existingSecret.name) }}
{{- $_ := set $data "SWITCHYARD_NATS_URL" $.Values.nats.url }}
{{- end }}
{{- range $k, $v := $values.config }}
{{- $_ := set $data $k (include "switchyard.envString" $v) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/*
A setting as the string an env var holds. Numbers from values files arrive as float64, which
toString would print as 1e+06 past six digits: integers are printed as integers.
*/}}
{{- define "switchyard.envString" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) }}{{ . | int64 }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/* One env entry read from a Secret key. include "switchyard.secretEnv" (list NAME SECRET KEY). */}}
{{- define "switchyard.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
{{- end }}

{{/* A role's env entries from Secrets: include "switchyard.secretEnvs" (list . "relay"). */}}
{{- define "switchyard.secretEnvs" -}}
{{- $ := index . 0 }}
{{- $role := index . 1 }}
{{- $own := include "switchyard.secretName" $ }}
{{- $tokens := default $own $.Values.secrets.existingSecret }}
{{- include "switchyard.secretEnv" (list "SWITCHYARD_INTERNAL_TOKEN" $tokens "SWITCHYARD_INTERNAL_TOKEN") }}
{{- if eq $role "control-plane" }}
{{ include "switchyard.secretEnv" (list "SWITCHYARD_ADMIN_TOKEN" $tokens "SWITCHYARD_ADMIN_TOKEN") }}
{{ include "switchyard.secretEnv" (list "SWITCHYARD_SECRET_KEY" $tokens "SWITCHYARD_SECRET_KEY") }}
{{- end }}
{{- if has $role (list "control-plane" "accounting") }}
{{- if $.Values.mysql.existingSecret.name }}
{{ include "switchyard.secretEnv" (list "SWITCHYARD_DATABASE_URL" $.Values.mysql.existingSecret.name $.Values.mysql.existingSecret.key) }}
{{- else }}
{{ include "switchyard.secretEnv" (list "SWITCHYARD_DATABASE_URL" $own "SWITCHYARD_DATABASE_URL") }}
{{- end }}
{{- end }}
{{- if and (has $role (list "control-plane" "relay")) $.Values.redis.existingSecret.name }}
{{ include "switchyard.secretEnv" (list "SWITCHYARD_REDIS_URL" $.Values.redis.existingSecret.name $.Values.redis.existingSecret.key) }}
{{- end }}
{{- if and (has $role (list "relay" "accounting")) $.Values.nats.existingSecret.name }}
{{ include "switchyard.secretEnv" (list "SWITCHYARD_NATS_URL" $.Values.nats.existingSecret.name $.Values.nats.existingSecret.key) }}
{{- end }}
{{- end }}

{{/*
A PodDisruptionBudget for one role: (list $ role pdbValues). Nothing when pdbValues.enabled is false.
minAvailable wins when both are set.
*/}}
{{- define "switchyard.pdb" -}}
{{- $ := index . 0 -}}
{{- $role := index . 1 -}}
{{- with index . 2 }}
{{- if .enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "switchyard.roleName" (list $ $role) }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "switchyard.roleLabels" (list $ $role) | nindent 4 }}
spec:
  {{- if and (not (kindIs "invalid" .minAvailable)) (ne (toString .minAvailable) "") }}
  minAvailable: {{ .minAvailable }}
  {{- else }}
  maxUnavailable: {{ required (printf "%s.pdb needs minAvailable or maxUnavailable" $role) .maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "switchyard.selectorLabels" (list $ $role) | nindent 6 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* ---- configuration as code (declarative.*): the control plane only ---- */}}

{{/*
Where the control plane reads switchyard.yaml. A directory of its own: a ConfigMap volume is
read-only, so the secrets' mount point cannot be created inside it; ../secrets/<key> reaches them.
*/}}
{{- define "switchyard.declarativeDir" -}}
/etc/switchyard/config
{{- end }}

{{- define "switchyard.declarativeFile" -}}
{{- printf "%s/switchyard.yaml" (include "switchyard.declarativeDir" .) }}
{{- end }}

{{/* The ConfigMap holding the key switchyard.yaml: declarative.existingConfigMap, or the chart's own. */}}
{{- define "switchyard.declarativeConfigMapName" -}}
{{- default (printf "%s-declarative" (include "switchyard.fullname" .)) .Values.declarative.existingConfigMap }}
{{- end }}

{{/* The file's content in the chart's ConfigMap (and what the control plane's checksum hashes). */}}
{{- define "switchyard.declarativeDocument" -}}
{{- toYaml .Values.declarative.config }}
{{- end }}
