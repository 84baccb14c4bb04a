package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/pki"
)

// Files Bootstrap keeps in its directory, both mode 0600.
const (
	KubeconfigFile = "host.kubeconfig"
	KeyFile        = "host.key"
)

// Lifetimes of host certificates.
const (
	// certLifetime is what a host asks for; the controller manager may cap
	// it with --cluster-signing-duration.
	certLifetime = 365 * 24 * time.Hour
	// renewBefore: a certificate that ends sooner is requested again, so
	// that a host restarted now and then never runs on an expired one.
	renewBefore = 24 * time.Hour
)

// approvalTimeout bounds the wait for the approver and the signer.
var approvalTimeout = 2 * time.Minute

// Bootstrap returns dir/host.kubeconfig, credentials of host hostName for
// serverURL. It reuses the file when its certificate is this host's, from
// the CA token pins, for serverURL, and valid for more than a day.
// Otherwise it learns the CA from cluster-info (trusted only when signed
// with token and matching its pin), creates a new key (dir/host.key) and
// has the server sign a client certificate as HostUser(hostName) in
// HostGroup, then writes the kubeconfig. serverURL may be any address the
// apiserver's certificate names, such as https://127.0.0.1:PORT.
func Bootstrap(ctx context.Context, serverURL string, token Token, hostName, dir string) (string, error) {
	if errs := validation.IsDNS1123Subdomain(hostName); len(errs) > 0 {
		return "", fmt.Errorf("host name %q cannot join: %s", hostName, strings.Join(errs, "; "))
	}
	log := klog.FromContext(ctx)
	path := filepath.Join(dir, KubeconfigFile)
	err := checkKubeconfig(path, serverURL, token.CAHash, hostName, time.Now().Add(renewBefore))
	if err == nil {
		return path, nil
	}
	log.Info("Joining the control plane", "server", serverURL, "host", hostName, "why", err.Error())
	ca, err := discoverCA(ctx, serverURL, token)
	if err != nil {
		return "", err
	}
	cert, key, err := requestCert(ctx, serverURL, ca, token, hostName, dir)
	if err != nil {
		return "", err
	}
	if err := checkCredentials(ca, cert, key, hostName, time.Now()); err != nil {
		return "", fmt.Errorf("the certificate %s issued is not usable: %w", serverURL, err)
	}
	if err := writeKubeconfig(path, serverURL, ca, hostName, cert, key); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	log.Info("Joined the control plane", "server", serverURL, "user", HostUser(hostName), "kubeconfig", path)
	return path, nil
}

// requestCert creates dir/host.key and returns the PEM certificate the
// server issued for it, and the key.
func requestCert(ctx context.Context, server string, ca []byte, t Token, host, dir string) (cert, key []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if key, err = keyutil.MarshalPrivateKeyToPEM(priv); err != nil {
		return nil, nil, err
	}
	if err := pki.WriteFileAtomic(filepath.Join(dir, KeyFile), key, 0o600); err != nil {
		return nil, nil, fmt.Errorf("writing the host key: %w", err)
	}
	request, err := certutil.MakeCSR(priv, &pkix.Name{CommonName: HostUser(host), Organization: []string{HostGroup}}, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	// From here on the connection is verified with the CA just learnt.
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host: server, BearerToken: t.Bootstrap(), TLSClientConfig: rest.TLSClientConfig{CAData: ca},
	})
	if err != nil {
		return nil, nil, err
	}
	lifetime := certLifetime
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	name, uid, err := csr.RequestCertificateWithContext(ctx, cs, request, "", certificatesv1.KubeAPIServerClientSignerName, &lifetime, usages, priv)
	if err != nil {
		return nil, nil, fmt.Errorf("requesting the certificate of host %s from %s: %w", host, server, err)
	}
	klog.FromContext(ctx).Info("Requested host certificate", "csr", name)
	waitCtx, cancel := context.WithTimeout(ctx, approvalTimeout)
	defer cancel()
	cert, err = csr.WaitForCertificate(waitCtx, cs, name, uid)
	switch {
	case err == nil:
		return cert, key, nil
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	case waitCtx.Err() != nil:
		return nil, nil, fmt.Errorf("certificate request %s was not approved and issued within %s: fargo server's join approver "+
			"approves host requests and its controller manager issues them; is the server running? (kubectl get csr %s)",
			name, approvalTimeout, name)
	default:
		return nil, nil, fmt.Errorf("certificate request %s: %w", name, err)
	}
}
