package admission

import (
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/awslogging"
)

func loggingConfigMap(namespace, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Data:       data,
	}
}

// The aws-logging ConfigMap is refused at apply time with the reasons a
// pod would get; valid ones, extended outputs where the cluster allows
// them, and other ConfigMaps pass.
func TestValidateLoggingConfig(t *testing.T) {
	configMaps := metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	cloudwatch := "[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region us-east-1\n    log_group_name g\n    log_stream_prefix p-\n"
	loki := "[OUTPUT]\n    Name loki\n    Match *\n    Host 127.0.0.1\n"
	kubeURL := "[FILTER]\n    Name kubernetes\n    Match kube.*\n    Kube_URL https://elsewhere\n"
	backref := "[PARSER]\n    Name p\n    Format regex\n    Regex ^(?<a>x)\\1$\n"
	for _, tc := range []struct {
		name      string
		opts      awslogging.Options
		namespace string
		cmName    string
		data      map[string]string
		refused   string // "" when allowed
	}{
		{"valid", awslogging.Options{}, "aws-observability", "aws-logging", map[string]string{"output.conf": cloudwatch}, ""},
		{"extended output on an EKS cluster", awslogging.Options{}, "aws-observability", "aws-logging", map[string]string{"output.conf": loki}, `unsupported output plugin "loki"`},
		{"extended output on an extended cluster", awslogging.Options{Extended: true}, "aws-observability", "aws-logging", map[string]string{"output.conf": loki}, ""},
		{"Kube_URL", awslogging.Options{}, "aws-observability", "aws-logging", map[string]string{"output.conf": cloudwatch, "filters.conf": kubeURL}, "filters.conf line 4: Kube_URL is set by fargo for the kubernetes filter: remove it"},
		{"backreference", awslogging.Options{}, "aws-observability", "aws-logging", map[string]string{"output.conf": cloudwatch, "parsers.conf": backref}, "parsers.conf line 4:"},
		{"no output", awslogging.Options{}, "aws-observability", "aws-logging", map[string]string{}, "no [OUTPUT] section"},
		{"another ConfigMap", awslogging.Options{}, "aws-observability", "other", map[string]string{}, ""},
		{"another namespace", awslogging.Options{}, "default", "aws-logging", map[string]string{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(newFakeSources(), Options{Logging: tc.opts})
			req := request(admissionv1.Create, configMaps, loggingConfigMap(tc.namespace, tc.cmName, tc.data), nil)
			req.Namespace = tc.namespace
			resp := review(t, h, ValidateLoggingPath, req)
			switch {
			case tc.refused == "" && !resp.Allowed:
				t.Fatalf("refused: %s", resp.Result.Message)
			case tc.refused != "" && resp.Allowed:
				t.Fatalf("allowed, want refused with %q", tc.refused)
			case tc.refused != "" && (resp.Result.Code != http.StatusUnprocessableEntity || !strings.Contains(resp.Result.Message, tc.refused)):
				t.Fatalf("refused with %d %q, want 422 with %q", resp.Result.Code, resp.Result.Message, tc.refused)
			}
		})
	}
}
