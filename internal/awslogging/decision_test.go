package awslogging

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func namespace(labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace, Labels: labels}}
}

func configMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: ConfigMapName}, Data: data}
}

var enabledNamespace = namespace(map[string]string{NamespaceLabel: NamespaceLabelValue})

func TestDecide(t *testing.T) {
	missing := Decision{
		Annotation: "LoggingDisabled: LOGGING_CONFIGMAP_NOT_FOUND",
		EventType:  "Warning",
		Reason:     "LoggingDisabled",
		Message:    `Disabled logging because aws-logging configmap was not found. configmap "aws-logging" not found`,
	}
	invalid := func(why string) Decision {
		return Decision{
			Annotation: "LoggingDisabled: LOGGING_CONFIGMAP_INVALID",
			EventType:  "Warning",
			Reason:     "LoggingDisabled",
			Message:    "Disabled logging for pod due to invalid configmap. " + why + ". Please fix the logging configmap",
		}
	}
	binary := configMap(eksData())
	binary.BinaryData = map[string][]byte{"fluent-bit.conf": []byte("x")}

	tests := []struct {
		name string
		ns   *corev1.Namespace
		cm   *corev1.ConfigMap
		want Decision
	}{
		{"valid configmap", enabledNamespace, configMap(eksData()), Decision{
			Annotation: "LoggingEnabled",
			EventType:  "Normal",
			Reason:     "LoggingEnabled",
			Message:    "Successfully enabled logging for pod",
		}},
		{"no namespace", nil, nil, missing},
		{"namespace without label", namespace(nil), configMap(eksData()), missing},
		{"namespace label not enabled", namespace(map[string]string{NamespaceLabel: "disabled"}), configMap(eksData()), missing},
		{"no configmap", enabledNamespace, nil, missing},
		{"unsupported output", enabledNamespace, configMap(output("[OUTPUT]\n    Match *\n    Name stdout\n")),
			invalid(`output.conf line 3: unsupported output plugin "stdout"`)},
		{"two problems", enabledNamespace, configMap(output("[OUTPUT]\n    Name stdout\n")),
			invalid(`output.conf line 1: [OUTPUT] has no Match: Match is required (and 1 more problem)`)},
		{"three problems", enabledNamespace, configMap(output("[OUTPUT]\n    Name stdout\n    Host ${H}\n")),
			invalid(`output.conf line 1: [OUTPUT] has no Match: Match is required (and 2 more problems)`)},
		{"configmap without data", enabledNamespace, configMap(nil),
			invalid("no [OUTPUT] section: at least one output is required in output.conf")},
		{"binaryData", enabledNamespace, binary,
			invalid(`binaryData key "fluent-bit.conf" is not supported: put the configuration under data`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.ns, tt.cm)
			if got != tt.want {
				t.Errorf("Decide =\n%#v\nwant\n%#v", got, tt.want)
			}
			if got.Enabled() != (tt.want.Annotation == AnnotationEnabled) {
				t.Errorf("Enabled() = %v", got.Enabled())
			}
		})
	}
}

// Decide runs for every new Fargate pod; this says what that costs.
func BenchmarkDecide(b *testing.B) {
	cm := configMap(eksData())
	b.ReportAllocs()
	for b.Loop() {
		Decide(enabledNamespace, cm)
	}
}

func TestForAnnotation(t *testing.T) {
	stillInvalid := configMapInvalid("output.conf: no [OUTPUT] section")
	cases := []struct {
		name       string
		annotation string
		current    Decision
		wantOK     bool
		wantType   string
		wantMsg    string
	}{
		{"none", "", Decision{}, false, "", ""},
		{"unknown value", "LoggingMaybe", Decision{}, false, "", ""},
		{"enabled", AnnotationEnabled, Decision{}, true, corev1.EventTypeNormal, "Successfully enabled logging for pod"},
		{"missing", AnnotationConfigMapMissing, Decision{}, true, corev1.EventTypeWarning, Decide(nil, nil).Message},
		{"invalid and still invalid", AnnotationConfigMapInvalid, stillInvalid, true, corev1.EventTypeWarning, stillInvalid.Message},
		{"invalid, fixed since", AnnotationConfigMapInvalid, Decision{Annotation: AnnotationEnabled}, true, corev1.EventTypeWarning,
			"Disabled logging for pod due to invalid configmap. The aws-logging configmap was invalid when the pod was created. Please fix the logging configmap"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := ForAnnotation(c.annotation, c.current)
			if ok != c.wantOK || d.EventType != c.wantType || d.Message != c.wantMsg {
				t.Errorf("ForAnnotation = %+v, %v; want type %q message %q, ok %v", d, ok, c.wantType, c.wantMsg, c.wantOK)
			}
		})
	}
}
