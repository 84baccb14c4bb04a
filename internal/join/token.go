// Package join lets a host join a fargo control plane the way kubeadm and
// k3s nodes join theirs, with upstream Kubernetes mechanisms only.
//
// The server keeps one join token (EnsureToken): a Kubernetes bootstrap
// token plus a pin of the cluster CA's public key. It publishes the CA in
// kube-public/cluster-info, which the controller manager's bootstrap-signer
// signs with every signing token, grants bootstrap tokens just enough to
// read that and to request a client certificate, and approves exactly the
// certificate requests of hosts (InstallServerObjects, RunApprover).
//
// A host (Bootstrap) reads cluster-info with its token, trusts the CA only if
// the signature verifies with the token's secret and the CA matches the pin,
// then requests its own certificate as user HostUser(name) in group
// HostGroup. From then on it uses that certificate: RBAC (ClusterRole
// fargo:host) says what a host may do, and a ValidatingAdmissionPolicy
// limits it to its own Host, Lease and pod-nodes.
package join

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/fargo-dev/fargo/internal/pki"
)

// Names of the identities involved in joining.
const (
	// HostGroup is the group of every joined host's certificate (its O).
	HostGroup = "fargo:hosts"
	// BootstrapGroup is the extra group of fargo's bootstrap tokens: what
	// RBAC grants to hosts that have not joined yet.
	BootstrapGroup = bootstrapapi.BootstrapDefaultGroup + ":fargo:hosts"
	// hostUserPrefix starts the user name of a joined host.
	hostUserPrefix = "fargo:host:"
)

// HostUser is the user name (certificate CN) of the host called name.
func HostUser(name string) string { return hostUserPrefix + name }

// tokenPrefix is the version tag of fargo join tokens, so that a later
// format can be told apart.
const tokenPrefix = "fargo1"

// tokenFix ends every ParseToken error: what the user should do.
const tokenFix = "copy the whole line printed by fargo server, or <data-dir>/token"

// Token is a join token: fargo1::sha256:<hex>::<id>.<secret>.
type Token struct {
	// CAHash pins the cluster CA: "sha256:" and the hex SHA-256 of its DER
	// SubjectPublicKeyInfo, as kubeadm's --discovery-token-ca-cert-hash.
	CAHash string
	// ID and Secret make the bootstrap token ID.Secret.
	ID, Secret string
}

// String is the token as users pass it to fargo agent --token.
func (t Token) String() string {
	return tokenPrefix + "::" + t.CAHash + "::" + t.Bootstrap()
}

// Bootstrap is the Kubernetes bootstrap token ID.Secret, the bearer token
// of a host that has not joined yet.
func (t Token) Bootstrap() string { return bootstraputil.TokenFromIDAndSecret(t.ID, t.Secret) }

// ParseToken parses a join token as printed by fargo server. Errors say
// what is wrong and how to get a good token.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Token{}, fmt.Errorf("the join token is empty: %s", tokenFix)
	}
	parts := strings.Split(s, "::")
	if len(parts) != 3 || parts[0] != tokenPrefix {
		return Token{}, fmt.Errorf("the join token is not a fargo token (want %s::sha256:<hash>::<id>.<secret>): %s", tokenPrefix, tokenFix)
	}
	if err := checkCAHash(parts[1]); err != nil {
		return Token{}, fmt.Errorf("the join token's CA hash %v: %s", err, tokenFix)
	}
	if !bootstraputil.IsValidBootstrapToken(parts[2]) {
		return Token{}, fmt.Errorf("the join token does not end in a bootstrap token <6 of [a-z0-9]>.<16 of [a-z0-9]> (truncated?): %s", tokenFix)
	}
	id, secret, _ := strings.Cut(parts[2], ".")
	return Token{CAHash: parts[1], ID: id, Secret: secret}, nil
}

func checkCAHash(h string) error {
	hexPart, ok := strings.CutPrefix(h, "sha256:")
	if !ok {
		return fmt.Errorf("%q does not start with sha256:", h)
	}
	if len(hexPart) != 2*sha256.Size || strings.ToLower(hexPart) != hexPart {
		return fmt.Errorf("%q is not 64 lower-case hex digits", h)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return fmt.Errorf("%q is not 64 lower-case hex digits", h)
	}
	return nil
}

// CAHash returns the pin of the first certificate in caPEM.
func CAHash(caPEM []byte) (string, error) {
	certs, err := parseCerts(caPEM)
	if err != nil {
		return "", err
	}
	return certHash(certs[0]), nil
}

func certHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// parseCerts returns every certificate of a PEM bundle, at least one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing CA certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in the CA data")
	}
	return certs, nil
}

// EnsureToken returns the cluster's join token. It reuses the one in
// tokenFile when that still pins caPEM and its bootstrap Secret exists or
// can be created again; otherwise it generates a token and writes it to
// tokenFile (mode 0600). Either way the Secret exists on return.
func EnsureToken(ctx context.Context, cs kubernetes.Interface, tokenFile string, caPEM []byte) (Token, error) {
	hash, err := CAHash(caPEM)
	if err != nil {
		return Token{}, err
	}
	if t, err := readTokenFile(tokenFile); err == nil && t.CAHash == hash {
		ok, err := ensureSecret(ctx, cs, t)
		if err != nil || ok {
			return t, err
		}
	}
	// A second try only matters when a fresh ID collides with a Secret that
	// is not ours, a one in 36^6 chance.
	for range 2 {
		t, err := newToken(hash)
		if err != nil {
			return Token{}, err
		}
		// The file first: a Secret without its file would be a valid
		// credential nobody knows of.
		if err := pki.WriteFileAtomic(tokenFile, []byte(t.String()+"\n"), 0o600); err != nil {
			return Token{}, fmt.Errorf("writing the join token: %w", err)
		}
		ok, err := ensureSecret(ctx, cs, t)
		if err != nil || ok {
			return t, err
		}
	}
	return Token{}, errors.New("could not find a free bootstrap token ID")
}

func readTokenFile(path string) (Token, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Token{}, err
	}
	return ParseToken(string(data))
}

func newToken(caHash string) (Token, error) {
	bt, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return Token{}, fmt.Errorf("generating a bootstrap token: %w", err)
	}
	id, secret, _ := strings.Cut(bt, ".")
	return Token{CAHash: caHash, ID: id, Secret: secret}, nil
}

// tokenSecret is the bootstrap Secret of t: authentication as
// system:bootstrap:<id> in BootstrapGroup, signing of cluster-info, and no
// expiration, so the token-cleaner leaves it alone.
func tokenSecret(t Token) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      bootstraputil.BootstrapTokenSecretName(t.ID),
			Namespace: metav1.NamespaceSystem,
		},
		Type: bootstrapapi.SecretTypeBootstrapToken,
		// Data, not StringData: what the apiserver returns is compared
		// with it.
		Data: map[string][]byte{
			bootstrapapi.BootstrapTokenIDKey:               []byte(t.ID),
			bootstrapapi.BootstrapTokenSecretKey:           []byte(t.Secret),
			bootstrapapi.BootstrapTokenDescriptionKey:      []byte("fargo join token: hosts use it once to get their own certificate"),
			bootstrapapi.BootstrapTokenUsageAuthentication: []byte("true"),
			bootstrapapi.BootstrapTokenUsageSigningKey:     []byte("true"),
			bootstrapapi.BootstrapTokenExtraGroupsKey:      []byte(BootstrapGroup),
		},
	}
}

// ensureSecret makes t's bootstrap Secret exist as tokenSecret says. It
// returns false, and changes nothing, when the Secret of t's ID holds
// another secret: that ID belongs to a token that is not t.
func ensureSecret(ctx context.Context, cs kubernetes.Interface, t Token) (bool, error) {
	want := tokenSecret(t)
	secrets := cs.CoreV1().Secrets(metav1.NamespaceSystem)
	have, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return false, fmt.Errorf("creating bootstrap token Secret %s: %w", want.Name, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading bootstrap token Secret %s: %w", want.Name, err)
	}
	if string(have.Data[bootstrapapi.BootstrapTokenSecretKey]) != t.Secret {
		return false, nil
	}
	if secretMatches(have, want) {
		return true, nil
	}
	have.Type, have.Data = want.Type, want.Data
	if _, err := secrets.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("updating bootstrap token Secret %s: %w", want.Name, err)
	}
	return true, nil
}

// secretMatches reports whether have already holds exactly want's data.
func secretMatches(have, want *corev1.Secret) bool {
	if have.Type != want.Type || len(have.Data) != len(want.Data) {
		return false
	}
	for k, v := range want.Data {
		if !bytes.Equal(have.Data[k], v) {
			return false
		}
	}
	return true
}
