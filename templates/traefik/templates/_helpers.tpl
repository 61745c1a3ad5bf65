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
Whether an entry point is published by the Service: `expose: true` (wharf
0.1.0 and older upstream charts) or `expose: {default: true}` (upstream v26+).
Prints "true" or nothing.
*/}}
{{- define "traefik.exposed" -}}
{{- $e := .expose -}}
{{- if kindIs "map" $e -}}
{{- if $e.default }}true{{ end -}}
{{- else if $e -}}
true
{{- end -}}
{{- end -}}

{{/*
Flattens a map of Traefik settings into arguments: {a: {b: 1, c: [x, y]}}
under prefix P gives "P.a.b=1" and "P.a.c=x,y". A true boolean leaf gives
"P.a.b=true"; false and empty leaves are kept (Traefik reads them as given).
*/}}
{{- define "traefik.flatten" -}}
{{- $prefix := .prefix -}}
{{- range $k, $v := .value }}
{{- $key := printf "%s.%s" $prefix $k }}
{{- if kindIs "map" $v }}
{{- include "traefik.flatten" (dict "prefix" $key "value" $v) }}
{{- else if kindIs "slice" $v }}
- {{ printf "%s=%s" $key (join "," $v) | quote }}
{{- else if not (kindIs "invalid" $v) }}
- {{ printf "%s=%v" $key $v | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Redirect target of an entry point: the name of another entry point becomes
":<its exposedPort>" (the port clients reach through the Service), as the
upstream chart does; anything else (":443", an address) is kept.
*/}}
{{- define "traefik.redirectTarget" -}}
{{- $to := toString .to -}}
{{- $target := index .ports $to | default dict -}}
{{- if and (kindIs "map" $target) $target.port -}}
:{{ default $target.port $target.exposedPort }}
{{- else -}}
{{ $to }}
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
{{- if $cfg.asDefault }}
- "--entryPoints.{{ $name }}.asDefault=true"
{{- end }}
{{- $redirect := dict }}
{{- with $cfg.redirectTo }}
{{- if kindIs "map" . }}
{{- $redirect = dict "to" .port "scheme" "https" "permanent" true "priority" .priority }}
{{- else }}
{{- $redirect = dict "to" . "scheme" "https" "permanent" true }}
{{- end }}
{{- end }}
{{- with $cfg.redirections }}{{ with .entryPoint }}
{{- $redirect = . }}
{{- end }}{{ end }}
{{- if $redirect }}
{{- if not $redirect.to }}
{{- fail (printf "ports.%s.redirections.entryPoint.to is required" $name) }}
{{- end }}
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.to={{ include "traefik.redirectTarget" (dict "to" $redirect.to "ports" $.Values.ports) }}"
{{- with $redirect.scheme }}
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.scheme={{ . }}"
{{- end }}
{{- if not (kindIs "invalid" $redirect.permanent) }}
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.permanent={{ $redirect.permanent }}"
{{- end }}
{{- with $redirect.priority }}
- "--entryPoints.{{ $name }}.http.redirections.entryPoint.priority={{ int . }}"
{{- end }}
{{- end }}
{{- with $cfg.middlewares }}
- "--entryPoints.{{ $name }}.http.middlewares={{ join "," . }}"
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
{{- with $cfg.transport }}
{{- include "traefik.flatten" (dict "prefix" (printf "--entryPoints.%s.transport" $name) "value" .) }}
{{- end }}
{{- with $cfg.http3 }}
{{- if .enabled }}
- "--entryPoints.{{ $name }}.http3=true"
{{- with .advertisedPort }}
- "--entryPoints.{{ $name }}.http3.advertisedPort={{ int . }}"
{{- end }}
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
{{- with .Values.metrics.prometheus }}
{{- if .enabled }}
{{- $ep := index $.Values.ports (toString .entryPoint) }}
{{- if not $ep }}
{{- fail (printf "metrics.prometheus.entryPoint %q is not an entry point: add ports.%s or name another one" (toString .entryPoint) (toString .entryPoint)) }}
{{- end }}
- "--metrics.prometheus=true"
- "--metrics.prometheus.entryPoint={{ .entryPoint }}"
{{- if not (kindIs "invalid" .addEntryPointsLabels) }}
- "--metrics.prometheus.addEntryPointsLabels={{ .addEntryPointsLabels }}"
{{- end }}
{{- if not (kindIs "invalid" .addRoutersLabels) }}
- "--metrics.prometheus.addRoutersLabels={{ .addRoutersLabels }}"
{{- end }}
{{- if not (kindIs "invalid" .addServicesLabels) }}
- "--metrics.prometheus.addServicesLabels={{ .addServicesLabels }}"
{{- end }}
{{- with .buckets }}
- "--metrics.prometheus.buckets={{ . }}"
{{- end }}
{{- if .manualRouting }}
- "--metrics.prometheus.manualRouting=true"
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.core.defaultRuleSyntax }}
- "--core.defaultRuleSyntax={{ . }}"
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
{{- if .nativeLBByDefault }}
- "--providers.kubernetescrd.nativeLBByDefault=true"
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
{{- if .nativeLBByDefault }}
- "--providers.kubernetesingress.nativeLBByDefault=true"
{{- end }}
{{- if and .publishedService.enabled (or .publishedService.pathOverride $.Values.service.enabled) }}
- "--providers.kubernetesingress.ingressEndpoint.publishedService={{ include "traefik.publishedService" $ }}"
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.providers.kubernetesGateway }}
{{- if .enabled }}
- "--providers.kubernetesgateway"
{{- if .experimentalChannel }}
- "--providers.kubernetesgateway.experimentalChannel=true"
{{- end }}
{{- with .namespaces }}
- "--providers.kubernetesgateway.namespaces={{ join "," . }}"
{{- end }}
{{- with .labelselector }}
- "--providers.kubernetesgateway.labelSelector={{ . }}"
{{- end }}
{{- if .nativeLBByDefault }}
- "--providers.kubernetesgateway.nativeLBByDefault=true"
{{- end }}
{{- with .statusAddress }}
{{- include "traefik.flatten" (dict "prefix" "--providers.kubernetesgateway.statusAddress" "value" .) }}
{{- else }}
{{- if $.Values.service.enabled }}
- "--providers.kubernetesgateway.statusAddress.service.name={{ include "traefik.fullname" $ }}"
- "--providers.kubernetesgateway.statusAddress.service.namespace={{ include "traefik.namespace" $ }}"
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.logs.general }}
- "--log.level={{ upper (default "INFO" .level) }}"
{{- with .format }}
- "--log.format={{ . }}"
{{- end }}
{{- if .noColor }}
- "--log.noColor=true"
{{- end }}
{{- with .filePath }}
- "--log.filePath={{ . }}"
{{- end }}
{{- end }}
{{- with .Values.logs.access }}
{{- if .enabled }}
- "--accesslog=true"
{{- with .format }}
- "--accesslog.format={{ . }}"
{{- end }}
{{- with .filePath }}
- "--accesslog.filePath={{ . }}"
{{- end }}
{{- if not (kindIs "invalid" .bufferingSize) }}
- "--accesslog.bufferingSize={{ int .bufferingSize }}"
{{- end }}
{{- if .addInternals }}
- "--accesslog.addInternals=true"
{{- end }}
{{- with .filters }}
{{- with .statuscodes }}
- "--accesslog.filters.statusCodes={{ . }}"
{{- end }}
{{- if .retryattempts }}
- "--accesslog.filters.retryAttempts=true"
{{- end }}
{{- with .minduration }}
- "--accesslog.filters.minDuration={{ . }}"
{{- end }}
{{- end }}
{{- with .fields }}
{{- with .general }}
{{- with .defaultmode }}
- "--accesslog.fields.defaultMode={{ . }}"
{{- end }}
{{- range $field, $mode := .names }}
- "--accesslog.fields.names.{{ $field }}={{ $mode }}"
{{- end }}
{{- end }}
{{- with .headers }}
{{- with .defaultmode }}
- "--accesslog.fields.headers.defaultMode={{ . }}"
{{- end }}
{{- range $header, $mode := .names }}
- "--accesslog.fields.headers.names.{{ $header }}={{ $mode }}"
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $cfg := .Values.certificatesResolvers }}
{{- include "traefik.flatten" (dict "prefix" (printf "--certificatesresolvers.%s" $name) "value" $cfg) }}
{{- end }}
{{- range $name, $cfg := .Values.experimental.plugins }}
{{- include "traefik.flatten" (dict "prefix" (printf "--experimental.plugins.%s" $name) "value" $cfg) }}
{{- end }}
{{- range .Values.additionalArguments }}
- {{ . | quote }}
{{- end }}
{{- end -}}
