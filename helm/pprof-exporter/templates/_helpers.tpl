{{/* Chart name, truncated to a DNS label. */}}
{{- define "pprof-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name; the release name alone when it already contains the chart name. */}}
{{- define "pprof-exporter.fullname" -}}
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

{{- define "pprof-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "pprof-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pprof-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pprof-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pprof-exporter.labels" -}}
helm.sh/chart: {{ include "pprof-exporter.chart" . }}
{{ include "pprof-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pprof-exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "pprof-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pprof-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pprof-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The web config Secret's name, or "" when there is none. */}}
{{- define "pprof-exporter.webConfigSecret" -}}
{{- if .Values.webConfig.existingSecret }}
{{- .Values.webConfig.existingSecret }}
{{- else if .Values.webConfig.config }}
{{- printf "%s-web-config" (include "pprof-exporter.fullname" .) }}
{{- end }}
{{- end }}

{{/* Where Prometheus reaches the exporter's /probe. */}}
{{- define "pprof-exporter.address" -}}
{{- default (printf "%s.%s.svc:%d" (include "pprof-exporter.fullname" .) (include "pprof-exporter.namespace" .) (int .Values.service.port)) .Values.scrapeConfig.exporterAddress }}
{{- end }}

{{/*
The probe handler for liveness and readiness: basic auth (inline, or possibly in an
existing Secret) would answer 401 to the kubelet, which sends no credentials, so then
only a TCP connect is checked.
*/}}
{{- define "pprof-exporter.probeHandler" -}}
{{- $web := .root.Values.webConfig }}
{{- if or $web.existingSecret $web.config.basic_auth_users }}
tcpSocket:
  port: http
{{- else }}
httpGet:
  path: {{ .path }}
  port: http
  scheme: {{ ternary "HTTPS" "HTTP" (hasKey $web.config "tls_server_config") }}
{{- end }}
{{- end }}

{{/* The exporter's config file, without empty optional keys. */}}
{{- define "pprof-exporter.config" -}}
{{- $cfg := dict }}
{{- range $k, $v := .Values.config }}
{{- if or $v (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "bool" $v) }}
{{- $_ := set $cfg $k $v }}
{{- end }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
Relabelling of discovered pods into /probe?target=<pod IP>:<port>&module=<module> on the
exporter, in Prometheus' own (snake_case) form: README's plain-Prometheus snippet is this
list (a test compares them). The alert rules group by `target`, so it is set like `instance`.
A pod with several container ports is discovered once per port; the copies end with the
same labels, and Prometheus keeps one.
*/}}
{{- define "pprof-exporter.probeRelabelings" -}}
{{- $sc := .Values.scrapeConfig -}}
- source_labels: [{{ ternary "__meta_kubernetes_pod_label_pprof_exporter_io_scrape" "__meta_kubernetes_pod_annotation_pprof_exporter_io_scrape" (eq $sc.optIn "label") }}]
  regex: "true"
  action: keep
- source_labels: [__meta_kubernetes_pod_phase]
  regex: Running
  action: keep
- target_label: __tmp_pprof_port
  replacement: {{ $sc.defaultPort | quote }}
- source_labels: [__meta_kubernetes_pod_annotation_pprof_exporter_io_port]
  regex: (\d+)
  target_label: __tmp_pprof_port
- source_labels: [__meta_kubernetes_pod_ip, __tmp_pprof_port]
  regex: ([^:]+);(\d+)
  target_label: __param_target
  replacement: $1:$2
- source_labels: [__meta_kubernetes_pod_ip, __tmp_pprof_port]
  regex: (.+:.+);(\d+)
  target_label: __param_target
  replacement: "[$1]:$2"
- source_labels: [__meta_kubernetes_pod_annotation_pprof_exporter_io_scheme, __param_target]
  regex: (https);(.+)
  target_label: __param_target
  replacement: $1://$2
- target_label: __param_module
  replacement: {{ $sc.module | quote }}
- source_labels: [__meta_kubernetes_pod_annotation_pprof_exporter_io_module]
  regex: (.+)
  target_label: __param_module
- source_labels: [__param_target]
  target_label: instance
- source_labels: [__param_target]
  target_label: target
- source_labels: [__meta_kubernetes_namespace]
  target_label: namespace
- source_labels: [__meta_kubernetes_pod_name]
  target_label: pod
- target_label: __address__
  replacement: {{ include "pprof-exporter.address" . }}
{{- end }}

{{/* The same list with the Prometheus Operator's camelCase keys. */}}
{{- define "pprof-exporter.probeRelabelingsCamel" -}}
{{- $out := list }}
{{- range include "pprof-exporter.probeRelabelings" . | fromYamlArray }}
{{- $r := dict }}
{{- range $k, $v := . }}
{{- $_ := set $r ($k | camelcase | untitle) $v }}
{{- end }}
{{- $out = append $out $r }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
Whether to render a Prometheus Operator object: enabled "auto" (the default)
renders it only where the cluster serves its API (helm install/upgrade asks the
API server; helm template needs --api-versions), true always, false never.
Usage: include "pprof-exporter.operator" (list .Values.x.enabled "group/version/Kind" .Capabilities)
*/}}
{{- define "pprof-exporter.operator" -}}
{{- $enabled := index . 0 }}
{{- if eq (toString $enabled) "auto" }}
{{- if (index . 2).APIVersions.Has (index . 1) }}true{{ end }}
{{- else if $enabled }}true{{ end }}
{{- end }}
