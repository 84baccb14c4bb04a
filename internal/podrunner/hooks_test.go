package podrunner

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// hookServer answers every request with 500 and records the request URIs.
func hookServer(t *testing.T) (host string, port int, uris chan string) {
	t.Helper()
	uris = make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uris <- r.RequestURI
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	h, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	return h, port, uris
}

func TestHTTPHookAsKubelet(t *testing.T) {
	host, port, uris := hookServer(t)
	w, _, events := runWorker(t, onePod(corev1.Container{Name: "c"}))
	c := &container{spec: &w.pod.Spec.Containers[0]}
	hook := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{
		Host: host, Port: intstr.FromInt(port), Path: "/dial?host=10.0.0.1&request=echo%3Fmsg%3Dprestop",
	}}
	// An error status is no failure: a kubelet only checks that the
	// request was answered.
	if err := w.runHook(context.Background(), c, hook); err != nil {
		t.Fatalf("hook failed: %v", err)
	}
	if got, want := <-uris, "/dial?host=10.0.0.1&request=echo%3Fmsg%3Dprestop"; got != want {
		t.Errorf("request URI %q, want %q: the path's query goes as a query", got, want)
	}

	hook.HTTPGet.Scheme = corev1.URISchemeHTTPS
	if err := w.runHook(context.Background(), c, hook); err != nil {
		t.Fatalf("HTTPS hook to an HTTP server failed: %v", err)
	}
	want := "Warning LifecycleHTTPFallback request to HTTPS lifecycle hook " + net.JoinHostPort(host, strconv.Itoa(port)) +
		" got HTTP response, retry with HTTP succeeded"
	if got := drain(events); !slices.Contains(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}

	hook.HTTPGet.Port = intstr.FromInt(1) // nothing listens
	if err := w.runHook(context.Background(), c, hook); err == nil {
		t.Error("a hook nothing answered succeeded")
	}
}
