{{/*
Base name of the chart's objects.
*/}}
{{- define "traefik.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name of the namespaced objects. K3s names them all "traefik", whatever
the release is called, and so does this chart unless fullnameOverride is set.
*/}}
{{- define "traefik.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "traefik.name" . -}}
{{- end -}}
{{- end -}}

{{/*
Namespace of the namespaced objects.
*/}}
{{- define "traefik.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of cluster-scoped RBAC objects: the full name plus the namespace, so that
two installations in different namespaces do not fight over one ClusterRole.
*/}}
{{- define "traefik.clusterRoleName" -}}
{{- printf "%s-%s" (include "traefik.fullname" .) (include "traefik.namespace" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Value of the helm.sh/chart label.
*/}}
{{- define "traefik.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Instance label: release name and namespace, as K3s's Traefik carries it.
*/}}
{{- define "traefik.instance" -}}
{{- printf "%s-%s" .Release.Name (include "traefik.namespace" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels that select the Traefik pods. They must never change between upgrades.
*/}}
{{- define "traefik.selectorLabels" -}}
app.kubernetes.io/name: {{ include "traefik.name" . }}
app.kubernetes.io/instance: {{ include "traefik.instance" . }}
{{- end -}}

{{/*
Labels on every object.
*/}}
{{- define "traefik.labels" -}}
{{ include "traefik.selectorLabels" . }}
helm.sh/chart: {{ include "traefik.chart" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | toString | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: traefik
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
ServiceAccount the pods run as.
*/}}
{{- define "traefik.serviceAccountName" -}}
{{- default (include "traefik.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/*
Full image reference: [registry/]repository:tag[@digest].
*/}}
{{- define "traefik.image" -}}
{{- $repo := .Values.image.repository -}}
{{- with .Values.image.registry -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" .) $repo -}}
{{- end -}}
{{- $ref := printf "%s:%s" $repo (toString (default .Chart.AppVersion .Values.image.tag)) -}}
{{- with .Values.image.digest -}}
{{- $ref = printf "%s@%s" $ref . -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
namespace/name of the Service whose addresses Traefik copies into Ingress status.
*/}}
{{- define "traefik.publishedService" -}}
{{- $ps := .Values.providers.kubernetesIngress.publishedService -}}
{{- if $ps.pathOverride -}}
{{- $ps.pathOverride -}}
{{- else -}}
{{- printf "%s/%s" (include "traefik.namespace" .) (include "traefik.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
Arguments of the Traefik container, built from the values.
*/}}
{{- define "traefik.arguments" -}}
{{- range .Values.globalArguments }}
- {{ . | quote }}
{{- end }}
{{- range $name, $cfg := .Values.ports }}
{{- if $cfg }}
{{- if not (kindIs "map" $cfg) }}
{{- fail (printf "ports.%s must be a map with at least `port`" $name) }}
{{- end }}
{{- if not $cfg.port }}
{{- fail (printf "ports.%s.port is required" $name) }}
{{- end }}
- "--entryPoints.{{ $name }}.address=:{{ $cfg.port }}/{{ lower (default "TCP" $cfg.protocol) }}"
{{- with $cfg.redirectTo }}
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.to={{ . }}"
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.scheme=https"
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.permanent=true"
{{- end }}
{{- with $cfg.forwardedHeaders }}
{{- if .insecure }}
- "--entryPoints.{{ $name }}.forwardedHeaders.insecure=true"
{{- end }}
{{- with .trustedIPs }}
- "--entryPoints.{{ $name }}.forwardedHeaders.trustedIPs={{ join "," . }}"
{{- end }}
{{- end }}
{{- with $cfg.proxyProtocol }}
{{- if .insecure }}
- "--entryPoints.{{ $name }}.proxyProtocol.insecure=true"
{{- end }}
{{- with .trustedIPs }}
- "--entryPoints.{{ $name }}.proxyProtocol.trustedIPs={{ join "," . }}"
{{- end }}
{{- end }}
{{- with $cfg.tls }}
{{- if .enabled }}
- "--entryPoints.{{ $name }}.http.tls=true"
{{- with .options }}
- "--entryPoints.{{ $name }}.http.tls.options={{ . }}"
{{- end }}
{{- with .certResolver }}
- "--entryPoints.{{ $name }}.http.tls.certResolver={{ . }}"
{{- end }}
{{- range $i, $d := .domains }}
- "--entryPoints.{{ $name }}.http.tls.domains[{{ $i }}].main={{ $d.main }}"
{{- with $d.sans }}
- "--entryPoints.{{ $name }}.http.tls.domains[{{ $i }}].sans={{ join "," . }}"
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.api.dashboard }}
- "--api.dashboard=true"
{{- end }}
{{- if .Values.ping.enabled }}
- "--ping=true"
{{- end }}
{{- if .Values.metrics.prometheus.enabled }}
- "--metrics.prometheus=true"
- "--metrics.prometheus.entryPoint={{ .Values.metrics.prometheus.entryPoint }}"
{{- end }}
{{- with .Values.providers.kubernetesCRD }}
{{- if .enabled }}
- "--providers.kubernetescrd"
{{- if .allowCrossNamespace }}
- "--providers.kubernetescrd.allowCrossNamespace=true"
{{- end }}
{{- if .allowExternalNameServices }}
- "--providers.kubernetescrd.allowExternalNameServices=true"
{{- end }}
{{- if .allowEmptyServices }}
- "--providers.kubernetescrd.allowEmptyServices=true"
{{- end }}
{{- with .ingressClass }}
- "--providers.kubernetescrd.ingressClass={{ . }}"
{{- end }}
{{- with .namespaces }}
- "--providers.kubernetescrd.namespaces={{ join "," . }}"
{{- end }}
{{- with .labelSelector }}
- "--providers.kubernetescrd.labelSelector={{ . }}"
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.providers.kubernetesIngress }}
{{- if .enabled }}
- "--providers.kubernetesingress"
{{- if .allowExternalNameServices }}
- "--providers.kubernetesingress.allowExternalNameServices=true"
{{- end }}
{{- if .allowEmptyServices }}
- "--providers.kubernetesingress.allowEmptyServices=true"
{{- end }}
{{- with .ingressClass }}
- "--providers.kubernetesingress.ingressClass={{ . }}"
{{- end }}
{{- with .namespaces }}
- "--providers.kubernetesingress.namespaces={{ join "," . }}"
{{- end }}
{{- with .labelSelector }}
- "--providers.kubernetesingress.labelSelector={{ . }}"
{{- end }}
{{- if and .publishedService.enabled (or .publishedService.pathOverride $.Values.service.enabled) }}
- "--providers.kubernetesingress.ingressEndpoint.publishedService={{ include "traefik.publishedService" $ }}"
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.logs.general }}
- "--log.level={{ upper (default "INFO" .level) }}"
{{- with .format }}
- "--log.format={{ . }}"
{{- end }}
{{- end }}
{{- if .Values.logs.access.enabled }}
- "--accessLog=true"
{{- with .Values.logs.access.format }}
- "--accessLog.format={{ . }}"
{{- end }}
{{- end }}
{{- range .Values.additionalArguments }}
- {{ . | quote }}
{{- end }}
{{- end -}}
