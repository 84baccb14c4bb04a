package metricsapi

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/pki"
)

func TestRunRefusesLoopbackAddress(t *testing.T) {
	err := Run(context.Background(), Config{Address: net.IPv4(127, 0, 0, 1)}, make(chan struct{}))
	if err == nil || !strings.Contains(err.Error(), "--advertise-address") {
		t.Fatalf("Run on loopback: %v, want an error naming --advertise-address", err)
	}
}

// TestMetricsServerFlags checks metrics-server takes the flags as its
// Deployment would: the kubelets verified against the cluster CA, scraped
// on their InternalIP at the node's kubelet port, every 15s.
func TestMetricsServerFlags(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{CA: ca, PKIDir: dir, Kubeconfig: filepath.Join(dir, "ms.kubeconfig"),
		ServerURL: "https://127.0.0.1:6443", Address: net.IPv4(10, 0, 0, 5), Port: DefaultPort}
	files, err := ensureCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := metricsServerOptions(cfg, files)
	if err != nil {
		t.Fatal(err)
	}
	kc := opts.KubeletClient
	if kc.KubeletCAFile != ca.CertFile || !kc.KubeletUseNodeStatusPort || kc.InsecureKubeletTLS ||
		len(kc.KubeletPreferredAddressTypes) != 1 || kc.KubeletPreferredAddressTypes[0] != "InternalIP" {
		t.Errorf("kubelet client options = %+v", kc)
	}
	if opts.MetricResolution != 15*time.Second || opts.SecureServing.BindPort != DefaultPort ||
		!opts.SecureServing.BindAddress.Equal(cfg.Address) {
		t.Errorf("resolution %v, serving %v:%d", opts.MetricResolution, opts.SecureServing.BindAddress, opts.SecureServing.BindPort)
	}
}
