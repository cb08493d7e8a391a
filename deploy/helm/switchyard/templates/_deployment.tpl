{{/*
The Deployment of one role; the three roles differ only in what the values and the role name select.
include "switchyard.deployment" (list . "relay").
*/}}
{{- define "switchyard.deployment" -}}
{{- $ := index . 0 }}
{{- $role := index . 1 }}
{{- $key := get (dict "control-plane" "controlPlane" "relay" "relay" "accounting" "accounting") $role }}
{{- $values := index $.Values $key }}
{{- $name := include "switchyard.roleName" (list $ $role) }}
{{- include "switchyard.validate" $ }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "switchyard.roleLabels" (list $ $role) | nindent 4 }}
spec:
  {{- /* With an HPA the Deployment leaves replicas to it: a value here would reset the count on every upgrade. */}}
  {{- if not (and (eq $role "relay") $.Values.relay.autoscaling.enabled) }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "switchyard.selectorLabels" (list $ $role) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "switchyard.roleLabels" (list $ $role) | nindent 8 }}
      annotations:
        {{- /* Pods roll when the role's settings or the chart's Secret change (env is read at start only). */}}
        checksum/config: {{ include "switchyard.config" (list $ $role) | sha256sum }}
        {{- if include "switchyard.rendersSecret" $ }}
        checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") $ | sha256sum }}
        {{- end }}
        {{- /* The control plane applies switchyard.yaml at start only: a changed file must roll it. */}}
        {{- if and (eq $role "control-plane") $.Values.declarative.enabled (not $.Values.declarative.existingConfigMap) }}
        checksum/declarative: {{ include "switchyard.declarativeDocument" $ | sha256sum }}
        {{- end }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- /*
      SIGTERM: /readyz turns 503 at once, the pod keeps serving for the drain delay while endpoints
      drop it, then drains in-flight requests; the process forces its own exit at drain delay + 30 s.
      The grace period adds 10 s so it finishes first.
      */}}
      terminationGracePeriodSeconds: {{ add (div (add ($values.shutdownDrainDelayMs | int64) 999) 1000) 40 }}
      automountServiceAccountToken: false
      {{- /* No <SERVICE>_PORT variables injected: they would only clutter the env. */}}
      enableServiceLinks: false
      {{- with $.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ $role }}
          image: {{ include "switchyard.image" $ | quote }}
          imagePullPolicy: {{ $.Values.image.pullPolicy }}
          args: ['serve', '--role', {{ $role | quote }}]
          ports:
            - name: http
              containerPort: {{ $.Values.containerPorts.http }}
              protocol: TCP
            {{- if eq $role "control-plane" }}
            - name: grpc
              containerPort: {{ $.Values.containerPorts.grpc }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ $name }}
          env:
            {{- include "switchyard.secretEnvs" (list $ $role) | nindent 12 }}
            {{- if and (eq $role "control-plane") $.Values.declarative.enabled }}
            {{- with $.Values.declarative.secretEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- end }}
            {{- with $values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml $.Values.probes.startup | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            {{- toYaml $.Values.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            {{- toYaml $.Values.probes.readiness | nindent 12 }}
          {{- with $values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml $.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- /* The root filesystem is read-only: SWITCHYARD_DATA_DIR (a relay's usage spool and config snapshot) and /tmp. */}}
            - name: data
              mountPath: /data
            - name: tmp
              mountPath: /tmp
            {{- if and (eq $role "control-plane") $.Values.declarative.enabled }}
            - name: declarative
              mountPath: {{ include "switchyard.declarativeDir" $ }}
              readOnly: true
            {{- with $.Values.declarative.secretFiles }}
            {{- if .secretName }}
            - name: declarative-secrets
              mountPath: {{ .mountPath }}
              readOnly: true
            {{- end }}
            {{- end }}
            {{- end }}
      volumes:
        - name: data
          emptyDir:
            sizeLimit: 256Mi
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if and (eq $role "control-plane") $.Values.declarative.enabled }}
        - name: declarative
          configMap:
            name: {{ include "switchyard.declarativeConfigMapName" $ }}
            items:
              - key: switchyard.yaml
                path: switchyard.yaml
        {{- with $.Values.declarative.secretFiles }}
        {{- if .secretName }}
        - name: declarative-secrets
          secret:
            secretName: {{ .secretName }}
        {{- end }}
        {{- end }}
        {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* The ClusterIP (or other) Service of one role: include "switchyard.service" (list . "relay"). */}}
{{- define "switchyard.service" -}}
{{- $ := index . 0 }}
{{- $role := index . 1 }}
{{- $key := get (dict "control-plane" "controlPlane" "relay" "relay" "accounting" "accounting") $role }}
{{- $values := index $.Values $key }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "switchyard.roleName" (list $ $role) }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "switchyard.roleLabels" (list $ $role) | nindent 4 }}
spec:
  type: {{ $values.service.type }}
  selector:
    {{- include "switchyard.selectorLabels" (list $ $role) | nindent 4 }}
  ports:
    - name: http
      port: {{ $values.service.port }}
      targetPort: http
      protocol: TCP
    {{- if eq $role "control-plane" }}
    - name: grpc
      port: {{ $values.service.grpcPort }}
      targetPort: grpc
      protocol: TCP
      {{- /* Lets meshes and L7 load balancers treat the port as HTTP/2 (gRPC). */}}
      appProtocol: grpc
    {{- end }}
{{- end }}
