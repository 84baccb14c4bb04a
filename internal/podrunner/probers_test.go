package podrunner

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestEachProbeKindFailsAndRecovers drives the prober of each handler
// kind against something the test switches between failing and passing:
// an exec probe's exit code, an HTTP server's status, a TCP listener.
func TestEachProbeKindFailsAndRecovers(t *testing.T) {
	w, rt, _ := runWorker(t, appPod(corev1.RestartPolicyAlways))
	w.ip = mustAddr("127.0.0.1")
	round(w)
	c := w.ctrs["app"]
	ctx := context.Background()

	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, httpPort, _ := net.SplitHostPort(srv.Listener.Addr().String())
	hp, _ := strconv.Atoi(httpPort)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // closed: the TCP probe fails until it listens again

	cases := []struct {
		kind    string
		handler corev1.ProbeHandler
		heal    func()
	}{
		{"exec", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}, func() {
			rt.ExecResult([]string{"check"}, sandbox.ExecResult{ExitCode: 0})
		}},
		{"httpGet", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt(hp)}}, func() {
			healthy.Store(true)
		}},
		{"tcpSocket", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(tcpPort)}}, func() {
			l, err := net.Listen("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}},
	}
	rt.ExecResult([]string{"check"}, sandbox.ExecResult{ExitCode: 1, Output: []byte("not ready")})
	for _, tc := range cases {
		if err := w.runProbe(ctx, c, tc.handler, time.Second); err == nil {
			t.Errorf("%s probe passed against a failing target", tc.kind)
		}
		tc.heal()
		if err := w.runProbe(ctx, c, tc.handler, time.Second); err != nil {
			t.Errorf("%s probe failed after the target recovered: %v", tc.kind, err)
		}
	}
}
