package servingcert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
)

// signer approves and signs every kubelet-serving CSR made on cs, as
// fargo's approver and the controller manager's signer would, counting them.
func signer(t *testing.T, cs *fake.Clientset) <-chan *x509.CertificateRequest {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	seen := make(chan *x509.CertificateRequest, 10)
	w, err := cs.CertificatesV1().CertificateSigningRequests().Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	go func() {
		for ev := range w.ResultChan() {
			csr, ok := ev.Object.(*certificatesv1.CertificateSigningRequest)
			if ev.Type != watch.Added || !ok {
				continue
			}
			block, _ := pem.Decode(csr.Spec.Request)
			req, _ := x509.ParseCertificateRequest(block.Bytes)
			seen <- req
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: req.Subject,
				DNSNames: req.DNSNames, IPAddresses: req.IPAddresses, NotBefore: time.Now().Add(-time.Minute),
				NotAfter: time.Now().Add(365 * 24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, caKey)
			csr = csr.DeepCopy()
			csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
			csr.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
			_, _ = cs.CertificatesV1().CertificateSigningRequests().UpdateStatus(context.Background(), csr, metav1.UpdateOptions{})
		}
	}()
	return seen
}

// TestCertificateIssuedKeptAndRemoved: a pod-node's first handshake asks
// for a kubelet-serving certificate with its subject and address; callers
// at once share it; a new Manager on the same directory reuses it without
// asking again; Keep removes the certificates of pod-nodes that went.
func TestCertificateIssuedKeptAndRemoved(t *testing.T) {
	cs := fake.NewClientset()
	seen := signer(t, cs)
	dir := t.TempDir()
	m, err := New(cs, dir, klog.Background())
	if err != nil {
		t.Fatal(err)
	}
	node, ip := "fargate-ip-10-42-0-2.us-east-1.compute.internal", netip.MustParseAddr("10.42.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := make(chan error, 3)
	for range 3 {
		go func() {
			c, err := m.Certificate(ctx, node, ip)
			if err == nil && !slices.ContainsFunc(c.Leaf.IPAddresses, func(a net.IP) bool { return a.Equal(net.ParseIP("10.42.0.2")) }) {
				err = os.ErrInvalid
			}
			results <- err
		}()
	}
	for range 3 {
		if err := <-results; err != nil {
			t.Fatalf("Certificate: %v", err)
		}
	}
	req := <-seen
	if req.Subject.CommonName != "system:node:"+node || !slices.Equal(req.Subject.Organization, []string{"system:nodes"}) ||
		!slices.Equal(req.DNSNames, []string{node, "ip-10-42-0-2.us-east-1.compute.internal"}) {
		t.Errorf("request subject %v, names %v", req.Subject, req.DNSNames)
	}
	csrs, _ := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if len(csrs.Items) != 1 || csrs.Items[0].Spec.SignerName != certificatesv1.KubeletServingSignerName {
		t.Fatalf("want one kubelet-serving CSR for three callers, got %d", len(csrs.Items))
	}

	again, err := New(cs, dir, klog.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Certificate(ctx, node, ip); err != nil {
		t.Fatal(err)
	}
	if csrs, _ := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{}); len(csrs.Items) != 1 {
		t.Errorf("a restarted manager asked again: %d CSRs", len(csrs.Items))
	}
	if err := again.Keep(map[string]netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, node+".pem")); !os.IsNotExist(err) {
		t.Errorf("certificate of a gone pod-node still kept: %v", err)
	}
}
