package join

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cluster-bootstrap/token/jws"

	"github.com/fargo-dev/fargo/internal/pki"
)

var testToken = Token{ID: "abcdef", Secret: "0123456789abcdef"}

// signedClusterInfo returns a cluster-info ConfigMap for caPEM, signed as
// the bootstrap-signer would for tok.
func signedClusterInfo(t *testing.T, caPEM []byte, tok Token) *corev1.ConfigMap {
	t.Helper()
	content, err := clusterInfoKubeconfig("https://10.0.0.1:6443", caPEM)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jws.ComputeDetachedSignature(content, tok.ID, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"},
		Data:       map[string]string{"kubeconfig": content, "jws-kubeconfig-" + tok.ID: sig},
	}
}

func TestVerifyClusterInfo(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	tok := testToken
	tok.CAHash, _ = CAHash(ca.CertPEM())
	cases := []struct {
		name    string
		cm      func() *corev1.ConfigMap
		wantErr string
	}{
		{name: "signed and pinned", cm: func() *corev1.ConfigMap { return signedClusterInfo(t, ca.CertPEM(), tok) }},
		{name: "CA in a bundle", cm: func() *corev1.ConfigMap {
			return signedClusterInfo(t, append(other.CertPEM(), ca.CertPEM()...), tok)
		}},
		{name: "not signed yet", wantErr: errNotSigned.Error(), cm: func() *corev1.ConfigMap {
			cm := signedClusterInfo(t, ca.CertPEM(), tok)
			delete(cm.Data, "jws-kubeconfig-"+tok.ID)
			return cm
		}},
		{name: "signed for another token only", wantErr: errNotSigned.Error(), cm: func() *corev1.ConfigMap {
			return signedClusterInfo(t, ca.CertPEM(), Token{ID: "zzzzzz", Secret: tok.Secret})
		}},
		{name: "content tampered", wantErr: "does not verify with join token", cm: func() *corev1.ConfigMap {
			cm := signedClusterInfo(t, ca.CertPEM(), tok)
			cm.Data["kubeconfig"] = strings.Replace(cm.Data["kubeconfig"], "10.0.0.1", "10.6.6.6", 1)
			return cm
		}},
		{name: "signed with another secret", wantErr: "does not verify with join token", cm: func() *corev1.ConfigMap {
			return signedClusterInfo(t, ca.CertPEM(), Token{ID: tok.ID, Secret: "ffffffffffffffff"})
		}},
		{name: "validly signed other CA", wantErr: "not the CA " + tok.CAHash, cm: func() *corev1.ConfigMap {
			return signedClusterInfo(t, other.CertPEM(), tok)
		}},
		{name: "no kubeconfig", wantErr: "no kubeconfig key", cm: func() *corev1.ConfigMap {
			cm := signedClusterInfo(t, ca.CertPEM(), tok)
			delete(cm.Data, "kubeconfig")
			return cm
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := verifyClusterInfo(c.cm(), tok)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(got, ca.CertPEM()) {
				t.Fatalf("returned CA bundle lacks the pinned CA")
			}
		})
	}
}

// fakeAPIServer serves cluster-info over TLS, with a certificate from ca
// followed by ca itself as a fargo apiserver sends them, to requests
// bearing bootstrap; the signature appears only from the signedFrom-th
// request on, as the bootstrap-signer adds it late.
func fakeAPIServer(t *testing.T, ca *pki.Authority, cm *corev1.ConfigMap, bootstrap string, signedFrom int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+bootstrap {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonUnauthorized, Code: http.StatusUnauthorized})
			return
		}
		if r.URL.Path != "/api/v1/namespaces/kube-public/configmaps/cluster-info" {
			http.NotFound(w, r)
			return
		}
		served := cm.DeepCopy()
		served.APIVersion, served.Kind = "v1", "ConfigMap"
		if requests.Add(1) < signedFrom {
			for k := range served.Data {
				if strings.HasPrefix(k, "jws-") {
					delete(served.Data, k)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(served)
	}))
	pair, err := ca.Ensure(t.TempDir(), pki.Leaf{Name: "apiserver", CommonName: "kube-apiserver",
		Usage: pki.ServerAuth, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf.Certificate = append(leaf.Certificate, ca.Cert.Raw)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestDiscoverCA(t *testing.T) {
	defer func(poll, grace time.Duration) { discoveryPoll, authGrace = poll, grace }(discoveryPoll, authGrace)
	discoveryPoll, authGrace = 10*time.Millisecond, 0
	ca := newCA(t)
	tok := testToken
	tok.CAHash, _ = CAHash(ca.CertPEM())
	cm := signedClusterInfo(t, ca.CertPEM(), tok)

	t.Run("waits for the signature", func(t *testing.T) {
		srv, requests := fakeAPIServer(t, ca, cm, tok.Bootstrap(), 3)
		got, err := discoverCA(context.Background(), srv.URL, tok)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ca.CertPEM()) {
			t.Fatal("discovered CA differs")
		}
		if n := requests.Load(); n != 3 {
			t.Fatalf("%d requests, want 3 (two unsigned, one signed)", n)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		srv, _ := fakeAPIServer(t, ca, cm, "zzzzzz.zzzzzzzzzzzzzzzz", 0)
		_, err := discoverCA(context.Background(), srv.URL, tok)
		if err == nil || !strings.Contains(err.Error(), "rejects join token abcdef") {
			t.Fatalf("error %v, want the server's rejection of the token", err)
		}
	})
	t.Run("other server", func(t *testing.T) {
		pinned := tok
		pinned.CAHash = goodHash
		srv, _ := fakeAPIServer(t, ca, cm, tok.Bootstrap(), 0)
		_, err := discoverCA(context.Background(), srv.URL, pinned)
		if err == nil || !strings.Contains(err.Error(), "not the server the token came from") {
			t.Fatalf("error %v, want a pin mismatch", err)
		}
	})
	t.Run("server without the pinned CA", func(t *testing.T) {
		// Another CA's server: the token must not be sent, and there is
		// nothing to wait for.
		srv, requests := fakeAPIServer(t, newCA(t), cm, tok.Bootstrap(), 0)
		began := time.Now()
		_, err := discoverCA(context.Background(), srv.URL, tok)
		if err == nil || !strings.Contains(err.Error(), "not the server the token came from") {
			t.Fatalf("error %v, want a pin mismatch", err)
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("%d requests reached a server that does not hold the pinned CA", n)
		}
		if waited := time.Since(began); waited > 5*time.Second {
			t.Errorf("took %s to refuse a wrong server", waited)
		}
	})
	t.Run("gives up when never signed", func(t *testing.T) {
		defer func(d time.Duration) { discoveryTimeout = d }(discoveryTimeout)
		discoveryTimeout = 200 * time.Millisecond
		srv, _ := fakeAPIServer(t, ca, cm, tok.Bootstrap(), 1<<30)
		_, err := discoverCA(context.Background(), srv.URL, tok)
		if !errors.Is(err, errNotSigned) {
			t.Fatalf("error %v, want it to wrap %v", err, errNotSigned)
		}
	})
}
