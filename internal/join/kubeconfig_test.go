package join

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/keyutil"

	"github.com/fargo-dev/fargo/internal/pki"
)

// hostCredentials returns a PEM certificate and key issued by ca as l says.
func hostCredentials(t *testing.T, ca *pki.Authority, l pki.Leaf, validity time.Duration) (cert, key []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.Sign(priv.Public(), l, validity)
	if err != nil {
		t.Fatal(err)
	}
	key, err = keyutil.MarshalPrivateKeyToPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key
}

var hostLeaf = pki.Leaf{CommonName: "fargo:host:h1", Organization: []string{"fargo:hosts"}, Usage: pki.ClientAuth}

func TestWriteKubeconfig(t *testing.T) {
	ca := newCA(t)
	cert, key := hostCredentials(t, ca, hostLeaf, time.Hour)
	path := filepath.Join(t.TempDir(), KubeconfigFile)
	if err := writeKubeconfig(path, server, ca.CertPEM(), "h1", cert, key); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != server || !bytes.Equal(cfg.CAData, ca.CertPEM()) || !bytes.Equal(cfg.CertData, cert) || !bytes.Equal(cfg.KeyData, key) {
		t.Fatalf("client config %+v does not carry server, CA, certificate and key", cfg)
	}
}

func TestCheckKubeconfig(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	pin, _ := CAHash(ca.CertPEM())
	now := time.Now()
	good, goodKey := hostCredentials(t, ca, hostLeaf, 365*24*time.Hour)
	cases := []struct {
		name string
		// write makes the kubeconfig under test at path; nil writes none.
		write   func(t *testing.T, path string)
		server  string
		host    string
		pin     string
		wantErr string
	}{
		{name: "reusable", write: writeWith(ca.CertPEM(), good, goodKey)},
		{name: "missing", write: nil, wantErr: "no usable"},
		{name: "other server", server: "https://127.0.0.1:6443", write: writeWith(ca.CertPEM(), good, goodKey), wantErr: "is for server"},
		{name: "other host", host: "h2", write: writeWith(ca.CertPEM(), good, goodKey), wantErr: "fargo:host:h2"},
		{name: "token of another cluster", pin: goodHash, write: writeWith(ca.CertPEM(), good, goodKey), wantErr: "pins"},
		{name: "expires within a day", wantErr: "expires", write: func(t *testing.T, path string) {
			cert, key := hostCredentials(t, ca, hostLeaf, 12*time.Hour)
			writeWith(ca.CertPEM(), cert, key)(t, path)
		}},
		{name: "expired", wantErr: "does not verify", write: func(t *testing.T, path string) {
			cert, key := hostCredentials(t, ca, hostLeaf, -time.Minute)
			writeWith(ca.CertPEM(), cert, key)(t, path)
		}},
		{name: "issued by another CA", wantErr: "does not verify", write: func(t *testing.T, path string) {
			cert, key := hostCredentials(t, other, hostLeaf, 365*24*time.Hour)
			writeWith(ca.CertPEM(), cert, key)(t, path)
		}},
		{name: "server certificate", wantErr: "does not verify", write: func(t *testing.T, path string) {
			l := hostLeaf
			l.Usage = pki.ServerAuth
			cert, key := hostCredentials(t, ca, l, 365*24*time.Hour)
			writeWith(ca.CertPEM(), cert, key)(t, path)
		}},
		{name: "key of another certificate", wantErr: "key", write: func(t *testing.T, path string) {
			_, key := hostCredentials(t, ca, hostLeaf, time.Hour)
			writeWith(ca.CertPEM(), good, key)(t, path)
		}},
		{name: "garbled", wantErr: "no usable", write: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("{{"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), KubeconfigFile)
			if c.write != nil {
				c.write(t, path)
			}
			srv, host, p := or(c.server, server), or(c.host, "h1"), or(c.pin, pin)
			err := checkKubeconfig(path, srv, p, host, now.Add(renewBefore))
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("not reused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func writeWith(ca, cert, key []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		t.Helper()
		if err := writeKubeconfig(path, server, ca, "h1", cert, key); err != nil {
			t.Fatal(err)
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
