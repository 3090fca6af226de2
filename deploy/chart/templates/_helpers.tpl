{{/* The chart name, overridable. */}}
{{- define "hoist.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the prefix of every object's name. */}}
{{- define "hoist.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "hoist.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "hoist.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hoist
{{- end -}}

{{/* Selector labels of the whole release (component added per service). */}}
{{- define "hoist.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hoist.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The service account's name. */}}
{{- define "hoist.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hoist.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "hoist.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Where each Secret is mounted in the services' containers. */}}
{{- define "hoist.secretsDir" -}}/etc/hoist-secrets{{- end -}}

{{/*
hoist.yaml: .Values.config with the one-repository, one-receiver and NATS auth blocks merged
into it, so `--set repository.url=...` adds to the config instead of replacing a list.
*/}}
{{- define "hoist.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $dir := include "hoist.secretsDir" . -}}
{{- if .Values.nats.auth.enabled -}}
{{- $nats := deepCopy (default dict $cfg.nats) -}}
{{- $_ := set $nats "user" "${HOIST_NATS_USER}" -}}
{{- $_ := set $nats "passwordFile" (printf "%s/nats/password" $dir) -}}
{{- $_ := set $cfg "nats" $nats -}}
{{- end -}}
{{- if .Values.nats.tls.caSecretName -}}
{{- $nats := deepCopy (default dict $cfg.nats) -}}
{{- $tls := deepCopy (default dict $nats.tls) -}}
{{- $_ := set $tls "caFile" (printf "%s/nats-ca/ca.crt" $dir) -}}
{{- $_ := set $nats "tls" $tls -}}
{{- $_ := set $cfg "nats" $nats -}}
{{- end -}}
{{- with .Values.receiver -}}
{{- if .name -}}
{{- $r := dict "name" .name "kind" .kind "secretFile" (printf "%s/receivers/%s" $dir .name) -}}
{{- with .hostAliases }}{{ $_ := set $r "hostAliases" . }}{{ end -}}
{{- $_ := set $cfg "receivers" (append (default list $cfg.receivers) $r) -}}
{{- end -}}
{{- end -}}
{{- with .Values.repository -}}
{{- if .url -}}
{{- $auth := dict -}}
{{- if or (hasPrefix "ssh://" .url) (regexMatch "^[^/:@]+@[^/:]+:" .url) -}}
{{- $auth = dict "sshKeyFile" (printf "%s/git/ssh-key" $dir) "knownHostsFile" (printf "%s/git/known_hosts" $dir) -}}
{{- else -}}
{{- $auth = dict "username" .auth.username "passwordFile" (printf "%s/git/password" $dir) -}}
{{- end -}}
{{- $commit := dict "authorName" .commit.authorName "authorEmail" .commit.authorEmail -}}
{{- if .commit.signingKeySecretName -}}
{{- $_ := set $commit "signingKeyFile" (printf "%s/signing/signing-key" $dir) -}}
{{- end -}}
{{- $r := dict "name" .name "url" .url "branch" .branch "paths" .paths "auth" $auth "commit" $commit -}}
{{- $_ := set $cfg "repositories" (append (default list $cfg.repositories) $r) -}}
{{- end -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
The Secrets a service mounts, as a list of {name, secretName, items}: its NATS user's
password (and the NATS CA), and only the credentials its stage uses (ingest: receivers; match: git; commit: git
and the signing key). Each lands in <secretsDir>/<name>.
*/}}
{{- define "hoist.stageSecrets" -}}
{{- $v := .root.Values -}}
{{- $out := list -}}
{{- if $v.nats.auth.enabled -}}
{{- $out = append $out (dict "name" "nats" "secretName" (index $v.nats.auth .component).secretName) -}}
{{- end -}}
{{- with $v.nats.tls.caSecretName -}}
{{- $out = append $out (dict "name" "nats-ca" "secretName" . "items" (list "ca.crt")) -}}
{{- end -}}
{{- if and (eq .component "ingest") $v.receiver.secretName -}}
{{- $out = append $out (dict "name" "receivers" "secretName" $v.receiver.secretName) -}}
{{- end -}}
{{- if and (ne .component "ingest") $v.repository.auth.secretName -}}
{{- $out = append $out (dict "name" "git" "secretName" $v.repository.auth.secretName) -}}
{{- end -}}
{{- if and (eq .component "commit") $v.repository.commit.signingKeySecretName -}}
{{- $out = append $out (dict "name" "signing" "secretName" $v.repository.commit.signingKeySecretName) -}}
{{- end -}}
{{- toJson (dict "secrets" $out) -}}
{{- end -}}
