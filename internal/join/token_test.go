package join

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/fargo-dev/fargo/internal/pki"
)

// newCA returns a fresh CA in a temporary directory.
func newCA(t *testing.T) *pki.Authority {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(t.TempDir(), "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

const goodHash = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseToken(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    Token
		wantErr string
	}{
		{name: "good", in: "fargo1::" + goodHash + "::abcdef.0123456789abcdef",
			want: Token{CAHash: goodHash, ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "good with newline", in: "fargo1::" + goodHash + "::abcdef.0123456789abcdef\n",
			want: Token{CAHash: goodHash, ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "empty", in: "  ", wantErr: "empty"},
		{name: "bare bootstrap token", in: "abcdef.0123456789abcdef", wantErr: "not a fargo token"},
		{name: "other version", in: "fargo2::" + goodHash + "::abcdef.0123456789abcdef", wantErr: "not a fargo token"},
		{name: "truncated secret", in: "fargo1::" + goodHash + "::abcdef.0123456789", wantErr: "truncated"},
		{name: "truncated after hash", in: "fargo1::" + goodHash + "::", wantErr: "truncated"},
		{name: "upper-case secret", in: "fargo1::" + goodHash + "::abcdef.0123456789ABCDEF", wantErr: "bootstrap token"},
		{name: "short hash", in: "fargo1::sha256:0123::abcdef.0123456789abcdef", wantErr: "CA hash"},
		{name: "hash not hex", in: "fargo1::sha256:" + strings.Repeat("g", 64) + "::abcdef.0123456789abcdef", wantErr: "CA hash"},
		{name: "hash of other algorithm", in: "fargo1::md5:" + strings.Repeat("0", 64) + "::abcdef.0123456789abcdef", wantErr: "sha256:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseToken(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "<data-dir>/token") {
					t.Fatalf("ParseToken(%q) error %v, want one containing %q and the fix", c.in, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseToken(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			if again, err := ParseToken(got.String()); err != nil || again != got {
				t.Fatalf("String does not round-trip: %q gives %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestCAHashIsSPKIDigest(t *testing.T) {
	ca := newCA(t)
	got, err := CAHash(ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ca.Cert.RawSubjectPublicKeyInfo)
	if want := "sha256:" + hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("CAHash = %s, want %s", got, want)
	}
	if _, err := CAHash([]byte("not pem")); err == nil {
		t.Fatal("CAHash accepted data without a certificate")
	}
}

func TestEnsureToken(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t)
	cases := []struct {
		name string
		// prepare changes the state left by a first EnsureToken.
		prepare func(t *testing.T, cs *fake.Clientset, file string, first Token)
		reuse   bool
	}{
		{name: "file and Secret present", prepare: func(*testing.T, *fake.Clientset, string, Token) {}, reuse: true},
		{name: "Secret deleted", reuse: true, prepare: func(t *testing.T, cs *fake.Clientset, _ string, first Token) {
			deleteSecret(t, cs, first)
		}},
		{name: "Secret changed by hand", reuse: true, prepare: func(t *testing.T, cs *fake.Clientset, _ string, first Token) {
			s := getSecret(t, cs, first)
			delete(s.Data, bootstrapapi.BootstrapTokenUsageSigningKey)
			s.Data[bootstrapapi.BootstrapTokenExpirationKey] = []byte("2020-01-01T00:00:00Z")
			if _, err := cs.CoreV1().Secrets(metav1.NamespaceSystem).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "file missing", reuse: false, prepare: func(t *testing.T, _ *fake.Clientset, file string, _ Token) {
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "file garbled", reuse: false, prepare: func(t *testing.T, _ *fake.Clientset, file string, _ Token) {
			if err := os.WriteFile(file, []byte("fargo1::garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "file pins another CA", reuse: false, prepare: func(t *testing.T, _ *fake.Clientset, file string, first Token) {
			other := first
			other.CAHash = goodHash
			if err := os.WriteFile(file, []byte(other.String()), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ID taken by another secret", reuse: false, prepare: func(t *testing.T, cs *fake.Clientset, _ string, first Token) {
			s := getSecret(t, cs, first)
			s.Data[bootstrapapi.BootstrapTokenSecretKey] = []byte("zzzzzzzzzzzzzzzz")
			if _, err := cs.CoreV1().Secrets(metav1.NamespaceSystem).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewClientset()
			file := filepath.Join(t.TempDir(), "token")
			first, err := EnsureToken(ctx, cs, file, ca.CertPEM())
			if err != nil {
				t.Fatal(err)
			}
			c.prepare(t, cs, file, first)
			second, err := EnsureToken(ctx, cs, file, ca.CertPEM())
			if err != nil {
				t.Fatal(err)
			}
			if reused := second == first; reused != c.reuse {
				t.Fatalf("reused = %v, want %v (first %s, second %s)", reused, c.reuse, first, second)
			}
			checkTokenState(t, cs, file, second, ca.CertPEM())
		})
	}
}

// checkTokenState checks what EnsureToken promises about tok: it is in
// file (0600), pins the CA, and has a complete bootstrap Secret.
func checkTokenState(t *testing.T, cs *fake.Clientset, file string, tok Token, caPEM []byte) {
	t.Helper()
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	if fromFile, err := readTokenFile(file); err != nil || fromFile != tok {
		t.Errorf("token file holds %+v (%v), want %+v", fromFile, err, tok)
	}
	if hash, _ := CAHash(caPEM); tok.CAHash != hash {
		t.Errorf("token pins %s, want %s", tok.CAHash, hash)
	}
	s := getSecret(t, cs, tok)
	want := map[string]string{
		bootstrapapi.BootstrapTokenIDKey:               tok.ID,
		bootstrapapi.BootstrapTokenSecretKey:           tok.Secret,
		bootstrapapi.BootstrapTokenUsageAuthentication: "true",
		bootstrapapi.BootstrapTokenUsageSigningKey:     "true",
		bootstrapapi.BootstrapTokenExtraGroupsKey:      "system:bootstrappers:fargo:hosts",
	}
	for k, v := range want {
		if got := string(s.Data[k]); got != v {
			t.Errorf("Secret %s: %s = %q, want %q", s.Name, k, got, v)
		}
	}
	if _, ok := s.Data[bootstrapapi.BootstrapTokenExpirationKey]; ok {
		t.Errorf("Secret %s expires", s.Name)
	}
	if s.Type != corev1.SecretType("bootstrap.kubernetes.io/token") {
		t.Errorf("Secret type %s", s.Type)
	}
}

func getSecret(t *testing.T, cs *fake.Clientset, tok Token) *corev1.Secret {
	t.Helper()
	s, err := cs.CoreV1().Secrets(metav1.NamespaceSystem).Get(context.Background(), "bootstrap-token-"+tok.ID, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func deleteSecret(t *testing.T, cs *fake.Clientset, tok Token) {
	t.Helper()
	if err := cs.CoreV1().Secrets(metav1.NamespaceSystem).Delete(context.Background(), "bootstrap-token-"+tok.ID, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
