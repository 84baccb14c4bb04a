package kubeletapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
)

// restConfig reaches the test server as the apiserver would: a bearer
// token the authenticator accepts, the server's certificate not checked.
func (s *testServer) restConfig() *rest.Config {
	return &rest.Config{Host: s.url, BearerToken: testToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

// execIn runs argv in default/web's app through client-go's SPDY
// executor with stdin, and returns stdout and stderr and the error.
func (s *testServer) execIn(t testing.TB, argv []string, stdin string) (string, string, error) {
	t.Helper()
	q := url.Values{"command": argv, "output": {"1"}, "error": {"1"}}
	if stdin != "" {
		q.Set("input", "1")
	}
	u, err := url.Parse(s.url + "/exec/default/web/app?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	e, err := remotecommand.NewSPDYExecutor(s.restConfig(), http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	opts := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	err = e.StreamWithContext(ctx, opts)
	return stdout.String(), stderr.String(), err
}

func TestExec(t *testing.T) {
	s := startServer(t)
	t.Run("stdin to stdout", func(t *testing.T) {
		out, _, err := s.execIn(t, []string{"cat"}, "hello\n")
		if err != nil || out != "hello\n" {
			t.Fatalf("exec cat = %q, %v; want the input back", out, err)
		}
	})
	t.Run("exit code", func(t *testing.T) {
		_, _, err := s.execIn(t, []string{"exit", "3"}, "")
		var exitErr exec.CodeExitError
		if !errors.As(err, &exitErr) || exitErr.Code != 3 {
			t.Fatalf("exec exit 3 = %v (%T), want exec.CodeExitError with code 3", err, err)
		}
	})
}

func TestExecNeedsTheRightPod(t *testing.T) {
	s := startServer(t)
	for _, path := range []string{"/exec/default/other/app", "/exec/default/web/wrong-uid/app"} {
		t.Run(path, func(t *testing.T) {
			u, _ := url.Parse(s.url + path + "?command=cat&output=1")
			e, err := remotecommand.NewSPDYExecutor(s.restConfig(), http.MethodPost, u)
			if err != nil {
				t.Fatal(err)
			}
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
			if err == nil || !strings.Contains(err.Error(), "pod does not exist") {
				t.Fatalf("exec in another pod = %v, want pod does not exist", err)
			}
		})
	}
	t.Run("uid of the pod", func(t *testing.T) {
		u, _ := url.Parse(s.url + "/exec/default/web/uid-1/app?command=cat&input=1&output=1")
		e, err := remotecommand.NewSPDYExecutor(s.restConfig(), http.MethodPost, u)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: strings.NewReader("x"), Stdout: &out}); err != nil || out.String() != "x" {
			t.Fatalf("exec with the pod's UID = %q, %v", out.String(), err)
		}
	})
}

func TestPortForward(t *testing.T) {
	s := startServer(t)
	transport, upgrader, err := spdy.RoundTripperFor(s.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.url + "/portForward/default/web")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("ForwardPorts: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("ForwardPorts: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("port forward never ready")
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("GetPorts = %v, %v", ports, err)
	}
	local := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ports[0].Local).String()
	for i := range 2 { // each connection is a stream of its own
		conn, err := net.Dial("tcp", local)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		msg := []byte(strings.Repeat("ping", 1000) + string(rune('0'+i)))
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("connection %d: read back %d bytes (%v), want the %d written", i, len(got), err, len(msg))
		}
		conn.Close()
	}
}

// Sessions leave nothing running behind them.
func TestExecSessionsDoNotLeakGoroutines(t *testing.T) {
	s := startServer(t)
	// One first session starts whatever runs once per process.
	if _, _, err := s.execIn(t, []string{"cat"}, "warm-up"); err != nil {
		t.Fatal(err)
	}
	base := settledGoroutines()
	for i := range 20 {
		if i%2 == 1 {
			if _, _, err := s.execIn(t, []string{"exit", "1"}, ""); err == nil {
				t.Fatalf("session %d: exit 1 succeeded", i)
			}
			continue
		}
		if out, _, err := s.execIn(t, []string{"cat"}, "x"); err != nil || out != "x" {
			t.Fatalf("session %d: %q, %v", i, out, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for n := runtime.NumGoroutine(); n > base; n = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after 20 sessions, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledGoroutines waits for the goroutine count to stop falling.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}
