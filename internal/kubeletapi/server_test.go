package kubeletapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// The pod-node the fakes know: pn-1 at 127.0.0.1, running default/web
// with container app.
const (
	testNode  = "pn-1"
	testToken = "good-token"
	testUser  = "alice"
)

var testPod = &corev1.Pod{
	ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "uid-1"},
	Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}, InitContainers: []corev1.Container{{Name: "init"}}},
}

// fakePods is one pod-node at 127.0.0.1; its container app has one
// attempt, running, whose log is logPath.
type fakePods struct{ logPath string }

func (p fakePods) PodNodeAt(ip netip.Addr) (string, *corev1.Pod, bool) {
	if ip != netip.MustParseAddr("127.0.0.1") {
		return "", nil, false
	}
	return testNode, testPod, true
}

func (p fakePods) Container(pod types.UID, name string, previous bool) (Container, error) {
	if pod != testPod.UID || name != "app" {
		return Container{}, fmt.Errorf("container %q in pod %q is not available: %w", name, pod, ErrNotFound)
	}
	if previous {
		return Container{}, fmt.Errorf("previous terminated container %q in pod %q not found: %w", name, testPod.Name, ErrNotFound)
	}
	return Container{ID: "c1", LogPath: p.logPath, Running: true}, nil
}

// fakeRuntime echoes: exec copies stdin to stdout, or with argv
// ["exit", N] exits with N; port-forward echoes the stream.
type fakeRuntime struct{}

func (fakeRuntime) ExecStream(ctx context.Context, podUID, id string, argv []string, s sandbox.Streams) (int, error) {
	if podUID != string(testPod.UID) || id != "c1" {
		return 0, fmt.Errorf("exec in %s/%s, want %s/c1", podUID, id, testPod.UID)
	}
	if len(argv) == 2 && argv[0] == "exit" {
		return strconv.Atoi(argv[1])
	}
	if s.Stdin != nil && s.Stdout != nil {
		if _, err := io.Copy(s.Stdout, s.Stdin); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

func (fakeRuntime) Attach(ctx context.Context, podUID, id string, s sandbox.Streams) error {
	return errors.New("attach is not faked")
}

func (fakeRuntime) PortForward(ctx context.Context, podUID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	if port != 8080 {
		return fmt.Errorf("nothing listens on port %d", port)
	}
	_, err := io.Copy(stream, stream)
	return err
}

var testUsage = sandbox.PodUsage{
	StartedAt: time.Now().Add(-time.Minute),
	Usage:     sandbox.Usage{CPUUsageNanoseconds: 5e9, MemoryWorkingSetBytes: 20 << 20, MemoryUsageBytes: 24 << 20, MemoryRSSBytes: 16 << 20, At: time.Now()},
	Containers: []sandbox.ContainerUsage{{
		Name: "app", ID: "c1", StartedAt: time.Now().Add(-time.Minute),
		Usage: sandbox.Usage{CPUUsageNanoseconds: 4e9, MemoryWorkingSetBytes: 18 << 20, MemoryUsageBytes: 20 << 20, At: time.Now()},
	}},
}

func (fakeRuntime) Stats(ctx context.Context, podUID string) (sandbox.PodUsage, error) {
	if podUID != string(testPod.UID) {
		return sandbox.PodUsage{}, fmt.Errorf("no pod %s", podUID)
	}
	return testUsage, nil
}

// fakeCerts serves one self-signed certificate for 127.0.0.1, for pn-1.
type fakeCerts struct{ cert *tls.Certificate }

func (c fakeCerts) Certificate(ctx context.Context, node string, ip netip.Addr) (*tls.Certificate, error) {
	if node != testNode || ip != netip.MustParseAddr("127.0.0.1") {
		return nil, fmt.Errorf("no certificate for %s at %v", node, ip)
	}
	return c.cert, nil
}

func selfSigned(t testing.TB) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "system:node:" + testNode, Organization: []string{"system:nodes"}},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// bearer accepts testToken as testUser; anything else is unauthenticated.
var bearer = authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: testUser, Groups: []string{"system:authenticated"}}}, true, nil
})

// recordingAuthz records every check and allows those allow accepts
// (all when allow is nil).
type recordingAuthz struct {
	mu    sync.Mutex
	seen  []authorizer.Attributes
	allow func(authorizer.Attributes) bool
}

func (a *recordingAuthz) authorizer() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.seen = append(a.seen, attrs)
		if a.allow == nil || a.allow(attrs) {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func (a *recordingAuthz) set(allow func(authorizer.Attributes) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen, a.allow = nil, allow
}

func (a *recordingAuthz) checks() []authorizer.Attributes {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]authorizer.Attributes(nil), a.seen...)
}

type testServer struct {
	url   string
	authz *recordingAuthz
	// client trusts the server and sends no credentials.
	client *http.Client
}

// logLines is the CRI log of the app container.
const logLines = "2026-01-02T03:04:05.000000001Z stdout F hello from app\n" +
	"2026-01-02T03:04:06.000000001Z stderr F an error line\n"

// startServer runs Serve on a loopback port until the test ends, with a
// recording authorizer.
func startServer(t testing.TB) *testServer {
	t.Helper()
	authz := &recordingAuthz{}
	s := startServerWith(t, "127.0.0.1:0", authz.authorizer())
	s.authz = authz
	return s
}

// startServerWith runs Serve on addr with authz until the test ends.
func startServerWith(t testing.TB, addr string, authz authorizer.Authorizer) *testServer {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(logPath, []byte(logLines), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, Config{
			Pods: fakePods{logPath: logPath}, Runtime: fakeRuntime{}, Certs: fakeCerts{selfSigned(t)},
			Authn: bearer, Authz: authz,
		})
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{url: "https://" + ln.Addr().String(), client: client}
}

// do requests path with token (none if empty) and returns status and body.
func (s *testServer) do(t testing.TB, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

func TestUnauthenticatedIs401(t *testing.T) {
	s := startServer(t)
	for _, token := range []string{"", "bad-token"} {
		t.Run("token "+token, func(t *testing.T) {
			code, body := s.do(t, http.MethodGet, "/pods", token)
			if code != http.StatusUnauthorized || strings.TrimSpace(body) != "Unauthorized" {
				t.Fatalf("GET /pods = %d %q, want 401 Unauthorized", code, body)
			}
			if checks := s.authz.checks(); len(checks) != 0 {
				t.Fatalf("an unauthenticated request was authorised: %+v", checks)
			}
		})
	}
}

func TestServesThisPodNodesCertificate(t *testing.T) {
	s := startServer(t)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "system:node:"+testNode {
		t.Fatalf("server certificate is %q's, want pn-1's", cn)
	}
}

// Each path is authorised as a kubelet's auth.go does it: verb from the
// method, resource nodes named after the pod-node, subresources in order.
func TestSubresources(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		method, path string
		verb         string
		subs         []string
	}{
		{http.MethodGet, "/stats/summary", "get", []string{"stats"}},
		{http.MethodGet, "/metrics/resource", "get", []string{"metrics"}},
		{http.MethodGet, "/metrics/cadvisor", "get", []string{"metrics"}},
		{http.MethodGet, "/pods", "get", []string{"pods", "proxy"}},
		{http.MethodGet, "/healthz", "get", []string{"healthz", "proxy"}},
		{http.MethodGet, "/containerLogs/default/web/app", "get", []string{"proxy"}},
		{http.MethodPost, "/exec/default/web/app?command=true&output=1", "create", []string{"proxy"}},
		{http.MethodPost, "/portForward/default/web", "create", []string{"proxy"}},
		{http.MethodGet, "/logs/", "get", []string{"log"}},
		{http.MethodGet, "/statsfoo", "get", []string{"proxy"}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			// Denied, so that every subresource is asked about.
			s.authz.set(func(authorizer.Attributes) bool { return false })
			code, body := s.do(t, c.method, c.path, testToken)
			want := fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource(s)=%v)", testUser, c.verb, c.subs)
			if code != http.StatusForbidden || strings.TrimSpace(body) != want {
				t.Fatalf("%s %s = %d %q, want 403 %q", c.method, c.path, code, body, want)
			}
			var got []string
			for _, a := range s.authz.checks() {
				if a.GetUser().GetName() != testUser || a.GetVerb() != c.verb || a.GetResource() != "nodes" ||
					a.GetName() != testNode || a.GetAPIGroup() != "" || a.GetNamespace() != "" || !a.IsResourceRequest() {
					t.Errorf("checked %+v, want %s of nodes/%s by %s", a, c.verb, testNode, testUser)
				}
				got = append(got, a.GetSubresource())
			}
			if fmt.Sprint(got) != fmt.Sprint(c.subs) {
				t.Fatalf("subresources checked = %v, want %v", got, c.subs)
			}
		})
	}
}

// A request passes when any of its subresources is allowed: /pods with
// only proxy allowed, as a kubelet.
func TestAnySubresourceAllows(t *testing.T) {
	s := startServer(t)
	s.authz.set(func(a authorizer.Attributes) bool { return a.GetSubresource() == "proxy" })
	code, body := s.do(t, http.MethodGet, "/pods", testToken)
	if code != http.StatusOK || !strings.Contains(body, `"name":"web"`) {
		t.Fatalf("GET /pods with nodes/proxy = %d %q, want 200 with pod web", code, body)
	}
	s.authz.set(func(a authorizer.Attributes) bool { return a.GetSubresource() == "pods" })
	if code, body := s.do(t, http.MethodGet, "/containerLogs/default/web/app", testToken); code != http.StatusForbidden {
		t.Fatalf("logs with only nodes/pods = %d %q, want 403", code, body)
	}
}

func TestAuthorizerErrorIs500(t *testing.T) {
	failing := startServerWith(t, "127.0.0.1:0", authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionNoOpinion, "", errors.New("webhook down")
	}))
	code, body := failing.do(t, http.MethodGet, "/stats/summary", testToken)
	if code != http.StatusInternalServerError || !strings.Contains(body, "Authorization error (user=alice, verb=get, resource=nodes, subresource=stats)") {
		t.Fatalf("GET /stats/summary with a failing authorizer = %d %q, want 500 Authorization error", code, body)
	}
}

func TestContainerLogs(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		path     string
		code     int
		body     string
		contains bool
	}{
		{path: "/containerLogs/default/web/app", code: 200, body: "hello from app\nan error line\n"},
		{path: "/containerLogs/default/web/app?stream=Stdout", code: 200, body: "hello from app\n"},
		{path: "/containerLogs/default/web/app?tailLines=1", code: 200, body: "an error line\n"},
		{path: "/containerLogs/default/web/app?tail=1", code: 200, body: "an error line\n"},
		{path: "/containerLogs/default/web/app?timestamps=true&tail=1", code: 200, body: "2026-01-02T03:04:06.000000001Z an error line\n"},
		{path: "/containerLogs/default/x/app", code: 404, body: `pod "x" does not exist` + "\n"},
		{path: "/containerLogs/other/web/app", code: 404, body: `pod "web" does not exist` + "\n"},
		{path: "/containerLogs/default/web/c", code: 404, body: `container "c" not found in pod "web"` + "\n"},
		{path: "/containerLogs/default/web/init", code: 400, body: `container "init" in pod "uid-1" is not available: not found`, contains: true},
		{path: "/containerLogs/default/web/app?previous=true", code: 400, body: `previous terminated container "app" in pod "web" not found`, contains: true},
		{path: "/containerLogs/default/web/app?tailLines=-1", code: 422, body: "Invalid request.", contains: true},
		{path: "/containerLogs/default/web/app?tailLines=x", code: 400, body: "Unable to decode query.", contains: true},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			code, body := s.do(t, http.MethodGet, c.path, testToken)
			if code != c.code || (c.contains && !strings.Contains(body, c.body)) || (!c.contains && body != c.body) {
				t.Fatalf("GET %s = %d %q, want %d %q", c.path, code, body, c.code, c.body)
			}
		})
	}
}

func TestPods(t *testing.T) {
	s := startServer(t)
	code, body := s.do(t, http.MethodGet, "/pods", testToken)
	if code != http.StatusOK || !strings.Contains(body, `"kind":"PodList"`) || !strings.Contains(body, `"uid":"uid-1"`) {
		t.Fatalf("GET /pods = %d %q, want the PodList of pod web", code, body)
	}
}

func TestStatsAndMetrics(t *testing.T) {
	s := startServer(t)
	cases := []struct{ path, want []string }{
		{[]string{"/stats/summary"}, []string{`"nodeName":"pn-1"`, `"name":"web"`, `"namespace":"default"`, `"workingSetBytes":18874368`}},
		{[]string{"/metrics/resource"}, []string{`pod_cpu_usage_seconds_total{namespace="default",pod="web"} 5`, `container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 1.8874368e+07`}},
		{[]string{"/metrics/cadvisor"}, []string{`pod="web"`}},
	}
	for _, c := range cases {
		t.Run(c.path[0], func(t *testing.T) {
			code, body := s.do(t, http.MethodGet, c.path[0], testToken)
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d %q, want 200", c.path[0], code, body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q:\n%s", c.path[0], w, body)
				}
			}
		})
	}
}

// A connection to an address that is no pod-node of this host gets no
// certificate.
func TestUnknownAddressGetsNoCertificate(t *testing.T) {
	s := startServerWith(t, "127.0.0.2:0", (&recordingAuthz{}).authorizer())
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Fatal("TLS handshake succeeded at an address that is no pod-node's")
	}
}
