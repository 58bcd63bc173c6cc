{{/*
Names. The full name is <release>-satuatap, or the release name when it already holds the
chart name; Kubernetes names stop at 63 characters.
*/}}
{{- define "satuatap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "satuatap.fullname" -}}
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

{{- define "satuatap.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object; pass a dict with "root" (the top context) and "component". */}}
{{- define "satuatap.labels" -}}
helm.sh/chart: {{ include "satuatap.chart" .root }}
{{ include "satuatap.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: satuatap
{{- end }}

{{/* Labels that select one component's pods (web, worker, migrate, prune). */}}
{{- define "satuatap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "satuatap.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "satuatap.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "satuatap.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "satuatap.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The migration Job runs before the release's own objects exist (pre-install hook), so it cannot
use the ServiceAccount the chart creates; it gets a hook-created one of its own.
*/}}
{{- define "satuatap.hookServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- printf "%s-migrate" (include "satuatap.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "satuatap.serviceAccountName" . }}
{{- end }}
{{- end }}

{{/* The Secret and key holding DATABASE_URL. */}}
{{- define "satuatap.databaseSecretName" -}}
{{- if .Values.database.urlSecret.name }}
{{- .Values.database.urlSecret.name }}
{{- else if .Values.database.cloudnativepg.cluster }}
{{- printf "%s-app" .Values.database.cloudnativepg.cluster }}
{{- else }}
{{- .Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{- define "satuatap.databaseSecretKey" -}}
{{- if and .Values.database.cloudnativepg.cluster (not .Values.database.urlSecret.name) }}
{{- "uri" }}
{{- else }}
{{- .Values.database.urlSecret.key }}
{{- end }}
{{- end }}

{{- define "satuatap.tlsSecretName" -}}
{{- default (printf "%s-wildcard-tls" (include "satuatap.fullname" .)) .Values.ingress.tlsSecretName }}
{{- end }}

{{/*
A name-safe form of a custom domain for the objects made for it: the host with dots as dashes
(cut at 40 characters) and a short hash, so two hosts never share a name.
*/}}
{{- define "satuatap.hostSlug" -}}
{{- printf "%s-%s" (. | lower | replace "." "-" | trunc 40 | trimSuffix "-") (sha256sum (lower .) | trunc 6) }}
{{- end }}

{{/*
Environment of every SatuAtap container: plain settings from values, secrets only through
secretKeyRef. Names are the ones platform/mpp/settings.py reads (docs/operations.md).
Takes a dict: "root" (the top context) and "direct" (true for the migration Job, which
behind a transaction pooler must connect past it: DATABASE_URL is then the direct URL).
The role's own variables come after, and extraEnv last, in satuatap.containerCommon.
*/}}
{{- define "satuatap.env" -}}
{{- $direct := false -}}
{{- if and .direct (eq .root.Values.database.poolMode "transaction") }}{{ $direct = true }}{{ end -}}
{{- with .root -}}
- name: MPP_ENV
  value: production
- name: DEBUG
  value: "0"
- name: PLATFORM_DOMAIN
  value: {{ .Values.platformDomain | quote }}
- name: PLATFORM_URL_SCHEME
  value: {{ .Values.config.urlScheme | quote }}
{{- with .Values.config.allowedHosts }}
- name: ALLOWED_HOSTS
  value: {{ join "," . | quote }}
{{- end }}
- name: TASKS_BACKEND
  value: database
- name: TENANT_SPARE_SCHEMAS
  value: {{ .Values.config.tenantSpareSchemas | quote }}
- name: PORTAL_CACHE_SECONDS
  value: {{ .Values.config.portalCacheSeconds | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: MEDIA_ROOT
  value: {{ printf "%s/media" .Values.persistence.mountPath | quote }}
- name: TENANT_EXPORT_DIR
  value: {{ printf "%s/exports" .Values.persistence.mountPath | quote }}
- name: EMAIL_BACKEND
  value: django.core.mail.backends.smtp.EmailBackend
{{- with .Values.email.host }}
- name: EMAIL_HOST
  value: {{ . | quote }}
{{- end }}
- name: EMAIL_PORT
  value: {{ .Values.email.port | quote }}
{{- with .Values.email.user }}
- name: EMAIL_HOST_USER
  value: {{ . | quote }}
{{- end }}
- name: EMAIL_USE_TLS
  value: {{ ternary "1" "0" .Values.email.useTLS | quote }}
{{- with .Values.email.from }}
- name: DEFAULT_FROM_EMAIL
  value: {{ . | quote }}
{{- end }}
- name: DB_POOL_MODE
  value: {{ ternary "session" .Values.database.poolMode $direct | quote }}
{{- if .Values.database.citus.schemaBasedSharding }}
{{- if eq .Values.database.poolMode "transaction" }}
{{- fail "database.citus.schemaBasedSharding sets PGOPTIONS, which PgBouncer refuses (unsupported startup parameter: options); with poolMode transaction, turn it on for the database instead: ALTER DATABASE <name> SET citus.enable_schema_based_sharding TO on, and leave schemaBasedSharding false" }}
{{- end }}
# libpq reads PGOPTIONS on every connection: each tenant schema created is distributed.
- name: PGOPTIONS
  value: "-c citus.enable_schema_based_sharding=on"
{{- end }}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret | quote }}
      key: SECRET_KEY
- name: NIK_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret | quote }}
      key: NIK_ENCRYPTION_KEY
{{- if $direct }}
# Migrations run past the transaction pooler, over the direct URL alone.
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default .Values.secrets.existingSecret .Values.database.directUrlSecret.name | quote }}
      key: {{ .Values.database.directUrlSecret.key | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "satuatap.databaseSecretName" . | quote }}
      key: {{ include "satuatap.databaseSecretKey" . | quote }}
- name: DATABASE_DIRECT_URL
  valueFrom:
    secretKeyRef:
      name: {{ default .Values.secrets.existingSecret .Values.database.directUrlSecret.name | quote }}
      key: {{ .Values.database.directUrlSecret.key | quote }}
      {{- if ne .Values.database.poolMode "transaction" }}
      optional: true
      {{- end }}
{{- end }}
- name: EMAIL_HOST_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret | quote }}
      key: EMAIL_HOST_PASSWORD
      optional: true
{{- end }}
{{- end }}

{{/*
The SatuAtap container fields every role shares; pass a dict with "root", "env" (the role's
own variables, a list) and "direct" (see satuatap.env). The operator's extraEnv comes last.
*/}}
{{- define "satuatap.containerCommon" -}}
{{- $root := .root -}}
image: {{ include "satuatap.image" $root | quote }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
env:
  {{- include "satuatap.env" (dict "root" $root "direct" .direct) | nindent 2 }}
  {{- with .env }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with $root.Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $root.Values.extraEnvFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Pod-level fields every role shares: no API token (the app never calls the Kubernetes API), no
service links (they would inject *_PORT variables into the settings' namespace), security
context, pull secrets and scheduling.
*/}}
{{- define "satuatap.podCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Spread one component's pods; only the current ReplicaSet's pods count (pod-template-hash). */}}
{{- define "satuatap.topologySpread" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- with $root.Values.topologySpread -}}
topologySpreadConstraints:
{{- range . }}
  - topologyKey: {{ .topologyKey }}
    maxSkew: {{ .maxSkew }}
    whenUnsatisfiable: {{ .whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "satuatap.selectorLabels" (dict "root" $root "component" $component) | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end }}
{{- end }}

{{/* Pod metadata (labels and annotations) for one component. */}}
{{- define "satuatap.podMetadata" -}}
labels:
  {{- include "satuatap.labels" . | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .root.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The shared files volume: the claim, or an emptyDir (files then die with the pod). */}}
{{- define "satuatap.dataVolume" -}}
- name: data
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-data" (include "satuatap.fullname" .)) .Values.persistence.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress every SatuAtap pod needs: DNS, PostgreSQL, the SMTP relay, and what the
operator adds. */}}
{{- define "satuatap.egressRules" -}}
{{- $dbPorts := list }}
{{- range .Values.database.ports }}
{{- $dbPorts = append $dbPorts (dict "port" . "protocol" "TCP") }}
{{- end -}}
{{- $np := .Values.networkPolicy -}}
- to:
    {{- toYaml $np.dns | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- if $np.database }}
- to:
    {{- toYaml $np.database | nindent 4 }}
  ports:
    {{- toYaml $dbPorts | nindent 4 }}
{{- else if .Values.database.cloudnativepg.cluster }}
- to:
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ .Values.database.cloudnativepg.cluster }}
  ports:
    {{- toYaml $dbPorts | nindent 4 }}
{{- else }}
# An external server's address is not known here: any address, PostgreSQL's port only.
- ports:
    {{- toYaml $dbPorts | nindent 4 }}
{{- end }}
{{- if .Values.email.host }}
- ports:
    - port: {{ .Values.email.port }}
      protocol: TCP
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}
