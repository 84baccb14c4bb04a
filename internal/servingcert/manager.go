// Package servingcert gives each pod-node of a host its own kubelet
// serving certificate, the way a kubelet with serverTLSBootstrap gets
// one: a CertificateSigningRequest for signer kubernetes.io/kubelet-serving
// with subject system:node:<node> in system:nodes and the node's address and
// names, approved by fargo's server when they match that node
// (internal/join) and signed by the controller manager with the cluster
// CA, which the apiserver verifies kubelets against. Certificates are
// kept in a directory so an agent restart asks for none again, and go
// when their pod-node goes.
package servingcert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/klog/v2"
)

// Usages are what a pod-node's serving certificate is for (an ECDSA key:
// no key encipherment).
var Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}

// renewBefore is how long before expiry a certificate is replaced.
const renewBefore = 24 * time.Hour

// Manager issues and keeps the serving certificates. Use New.
type Manager struct {
	client kubernetes.Interface
	dir    string
	log    klog.Logger

	mu       sync.Mutex
	certs    map[string]*tls.Certificate
	inflight map[string]*issue
}

// issue is one pending request; waiters share its result.
type issue struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// New returns a Manager keeping its certificates in dir.
func New(client kubernetes.Interface, dir string, log klog.Logger) (*Manager, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("serving certificates: create %s: %w", dir, err)
	}
	return &Manager{client: client, dir: dir, log: log, certs: map[string]*tls.Certificate{}, inflight: map[string]*issue{}}, nil
}

// Certificate returns node's certificate for ip, requesting one when
// there is none (or it is for another address, or expires soon). Callers
// asking at the same time share one request.
func (m *Manager) Certificate(ctx context.Context, node string, ip netip.Addr) (*tls.Certificate, error) {
	m.mu.Lock()
	if c := m.certs[node]; c != nil && usable(c, ip) {
		m.mu.Unlock()
		return c, nil
	}
	if c, err := m.load(node); err == nil && usable(c, ip) {
		m.certs[node] = c
		m.mu.Unlock()
		return c, nil
	}
	is := m.inflight[node]
	if is == nil {
		is = &issue{done: make(chan struct{})}
		m.inflight[node] = is
		go m.request(node, ip, is)
	}
	m.mu.Unlock()
	select {
	case <-is.done:
		return is.cert, is.err
	case <-ctx.Done():
		return nil, fmt.Errorf("serving certificate of %s: %w", node, ctx.Err())
	}
}

// requestTimeout bounds one CSR's round trip through approval and signing.
const requestTimeout = 2 * time.Minute

// request runs one CSR to its end, whoever still waits for it.
func (m *Manager) request(node string, ip netip.Addr, is *issue) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	is.cert, is.err = m.issue(ctx, node, ip)
	m.mu.Lock()
	delete(m.inflight, node)
	if is.err == nil {
		m.certs[node] = is.cert
	}
	m.mu.Unlock()
	close(is.done)
}

// issue makes a key, requests its certificate and stores both.
func (m *Manager) issue(ctx context.Context, node string, ip netip.Addr) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	hostname, _ := strings.CutPrefix(node, "fargate-")
	tmpl := &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		DNSNames:    []string{node, hostname},
		IPAddresses: []net.IP{net.IP(ip.AsSlice())},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, err
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	name, uid, err := csr.RequestCertificateWithContext(ctx, m.client, csrPEM, "", certificatesv1.KubeletServingSignerName, nil, Usages, key)
	if err != nil {
		return nil, fmt.Errorf("serving certificate of %s: request: %w", node, err)
	}
	certPEM, err := csr.WaitForCertificate(ctx, m.client, name, uid)
	if err != nil {
		return nil, fmt.Errorf("serving certificate of %s: CSR %s: %w", node, name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("serving certificate of %s: %w", node, err)
	}
	if err := m.store(node, append(certPEM, keyPEM...)); err != nil {
		m.log.Error(err, "Keeping serving certificate failed; the next agent start asks again", "node", node)
	}
	m.log.V(2).Info("Serving certificate issued", "node", node, "csr", name)
	return &c, nil
}

// usable says whether c is for ip and not about to expire.
func usable(c *tls.Certificate, ip netip.Addr) bool {
	leaf := c.Leaf
	if leaf == nil {
		return false
	}
	return time.Until(leaf.NotAfter) > renewBefore &&
		slices.ContainsFunc(leaf.IPAddresses, func(a net.IP) bool { return a.Equal(net.IP(ip.AsSlice())) })
}

func (m *Manager) file(node string) string { return filepath.Join(m.dir, node+".pem") }

func (m *Manager) load(node string) (*tls.Certificate, error) {
	data, err := os.ReadFile(m.file(node))
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (m *Manager) store(node string, data []byte) error {
	tmp := m.file(node) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.file(node))
}

// Prefetch starts requests for the pod-nodes in nodes (name -> address)
// that have no usable certificate yet, without waiting for them: a
// kubelet has its serving certificate before its first client, and the
// apiserver's handshake (10 s) must not wait for a CSR round trip.
func (m *Manager) Prefetch(nodes map[string]netip.Addr) {
	for node, ip := range nodes {
		m.mu.Lock()
		have := m.certs[node] != nil && usable(m.certs[node], ip) || m.inflight[node] != nil
		m.mu.Unlock()
		if !have {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
				defer cancel()
				if _, err := m.Certificate(ctx, node, ip); err != nil {
					m.log.Error(err, "Serving certificate not issued; asked again at the next handshake", "node", node)
				}
			}()
		}
	}
}

// Keep removes the certificates of every pod-node not in nodes.
func (m *Manager) Keep(nodes map[string]netip.Addr) error {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		node, ok := strings.CutSuffix(e.Name(), ".pem")
		if _, keep := nodes[node]; !ok || keep {
			continue
		}
		m.mu.Lock()
		delete(m.certs, node)
		m.mu.Unlock()
		if err := os.Remove(filepath.Join(m.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	m.mu.Lock()
	for node := range m.certs {
		if _, keep := nodes[node]; !keep {
			delete(m.certs, node)
		}
	}
	m.mu.Unlock()
	return errors.Join(errs...)
}
