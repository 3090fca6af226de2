package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest: its type header, metadata and the typed value.
type Object struct {
	metav1.TypeMeta
	// Meta is the object's metadata (nil for kinds without one, e.g. Kustomization).
	Meta *metav1.ObjectMeta
	// Value is a pointer to the typed object (e.g. *appsv1.Deployment).
	Value any
}

// ID names the object for messages: "Kind/name".
func (o Object) ID() string {
	if o.Meta == nil {
		return o.Kind
	}
	return o.Kind + "/" + o.Meta.Name
}

// newTyped returns a fresh typed value for apiVersion and kind, or an error for a
// type this repository does not ship (so a typo in either is caught too).
func newTyped(apiVersion, kind string) (any, *metav1.ObjectMeta, error) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		v := &corev1.Namespace{}
		return v, &v.ObjectMeta, nil
	case "v1 ServiceAccount":
		v := &corev1.ServiceAccount{}
		return v, &v.ObjectMeta, nil
	case "v1 ConfigMap":
		v := &corev1.ConfigMap{}
		return v, &v.ObjectMeta, nil
	case "v1 Secret":
		v := &corev1.Secret{}
		return v, &v.ObjectMeta, nil
	case "v1 Service":
		v := &corev1.Service{}
		return v, &v.ObjectMeta, nil
	case "apps/v1 Deployment":
		v := &appsv1.Deployment{}
		return v, &v.ObjectMeta, nil
	case "apps/v1 StatefulSet":
		v := &appsv1.StatefulSet{}
		return v, &v.ObjectMeta, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		v := &networkingv1.NetworkPolicy{}
		return v, &v.ObjectMeta, nil
	case "policy/v1 PodDisruptionBudget":
		v := &policyv1.PodDisruptionBudget{}
		return v, &v.ObjectMeta, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		v := &monitoringv1.ServiceMonitor{}
		return v, &v.ObjectMeta, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		v := &monitoringv1.PrometheusRule{}
		return v, &v.ObjectMeta, nil
	case "helm.toolkit.fluxcd.io/v2 HelmRelease":
		v := &helmv2.HelmRelease{}
		return v, &v.ObjectMeta, nil
	case "source.toolkit.fluxcd.io/v1 HelmRepository":
		v := &sourcev1.HelmRepository{}
		return v, &v.ObjectMeta, nil
	case "source.toolkit.fluxcd.io/v1 GitRepository":
		v := &sourcev1.GitRepository{}
		return v, &v.ObjectMeta, nil
	case kusttypes.KustomizationVersion + " " + kusttypes.KustomizationKind,
		kusttypes.ComponentVersion + " " + kusttypes.ComponentKind:
		return &kusttypes.Kustomization{}, nil, nil
	}
	return nil, nil, fmt.Errorf("no API type known for apiVersion %q kind %q", apiVersion, kind)
}

// DecodeStrict decodes one YAML document into its Kubernetes (or Flux, Prometheus
// Operator, kustomize) API type the way the API server does: field names are
// case-sensitive, and unknown or duplicate fields are errors.
func DecodeStrict(doc []byte) (Object, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Object{}, fmt.Errorf("yaml: %w", err)
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return Object{}, fmt.Errorf("type header: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return Object{}, errors.New("document has no apiVersion or kind")
	}
	v, meta, err := newTyped(tm.APIVersion, tm.Kind)
	if err != nil {
		return Object{}, err
	}
	strict, err := sigsjson.UnmarshalStrict(js, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return Object{}, fmt.Errorf("%s: %s", tm.Kind, strings.Join(msgs, "; "))
	}
	return Object{TypeMeta: tm, Meta: meta, Value: v}, nil
}

// SplitDocuments splits a YAML stream into its non-empty documents.
func SplitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split documents: %w", err)
		}
		if isEmptyDocument(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

// DecodeAll decodes every document of a YAML stream strictly; name labels errors.
func DecodeAll(name string, data []byte) ([]Object, error) {
	docs, err := SplitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var objs []Object
	var errs []error
	for i, d := range docs {
		o, err := DecodeStrict(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s document %d: %w", name, i+1, err))
			continue
		}
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}

// isEmptyDocument reports whether a document holds only comments and blank lines.
func isEmptyDocument(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || string(t) == "---" {
			continue
		}
		return false
	}
	return true
}
