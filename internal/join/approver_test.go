package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

var csrKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

// request returns a PEM x509 certificate request made from tmpl.
func request(t *testing.T, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, csrKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// hostSubject is what a joining host puts in its request.
var hostSubject = pkix.Name{CommonName: "fargo:host:h1", Organization: []string{"fargo:hosts"}}

// hostCSR is a request as Bootstrap makes it, which the approver approves;
// mutate changes it into the case under test.
func hostCSR(t *testing.T, name string, mutate func(*certificatesv1.CertificateSigningRequest, *x509.CertificateRequest)) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: certificatesv1.KubeAPIServerClientSignerName,
			Username:   "system:bootstrap:abcdef",
			Groups:     []string{"system:bootstrappers", "system:bootstrappers:fargo:hosts", "system:authenticated"},
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	tmpl := x509.CertificateRequest{Subject: hostSubject}
	if mutate != nil {
		mutate(csr, &tmpl)
	}
	if csr.Spec.Request == nil {
		csr.Spec.Request = request(t, tmpl)
	}
	return csr
}

type csrCase struct {
	name   string
	mutate func(*certificatesv1.CertificateSigningRequest, *x509.CertificateRequest)
	// why is part of isHostCSR's error; "" means approve.
	why string
}

var csrCases = []csrCase{
	{name: "host request", why: ""},
	{name: "with key encipherment", why: "", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageKeyEncipherment)
	}},
	{name: "node CN", why: "common name", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = "system:node:h1"
	}},
	{name: "host name not DNS", why: "host name", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = "fargo:host:H_1"
	}},
	{name: "empty host name", why: "host name", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = "fargo:host:"
	}},
	{name: "extra O", why: "organization", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.Organization = []string{"fargo:hosts", "system:masters"}
	}},
	{name: "masters O", why: "organization", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.Organization = []string{"system:masters"}
	}},
	{name: "no O", why: "organization", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.Organization = nil
	}},
	{name: "DNS SAN", why: "alternative names", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.DNSNames = []string{"kubernetes"}
	}},
	{name: "IP SAN", why: "alternative names", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.IPAddresses = []net.IP{net.IPv4(10, 0, 0, 1)}
	}},
	{name: "server auth", why: "usage", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageServerAuth)
	}},
	{name: "no client auth", why: "client auth", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}
	}},
	{name: "admin requester", why: "requester", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Username, c.Spec.Groups = "fargo-admin", []string{"system:masters", "system:bootstrappers:fargo:hosts"}
	}},
	{name: "other bootstrap token", why: "requester", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Groups = []string{"system:bootstrappers", "system:authenticated"}
	}},
	{name: "joined host renewing", why: "requester", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Username, c.Spec.Groups = "fargo:host:h1", []string{"fargo:hosts", "system:authenticated"}
	}},
	{name: "kubelet signer", why: "signer", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.SignerName = certificatesv1.KubeAPIServerClientKubeletSignerName
	}},
	{name: "not PEM", why: "PEM", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Request = []byte("garbage")
	}},
}

func TestIsHostCSR(t *testing.T) {
	for _, c := range csrCases {
		t.Run(c.name, func(t *testing.T) {
			host, err := isHostCSR(hostCSR(t, "csr", c.mutate))
			if c.why == "" {
				if err != nil || host != "h1" {
					t.Fatalf("isHostCSR = %q, %v; want h1", host, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("isHostCSR error %v, want one about %q", err, c.why)
			}
		})
	}
}

// TestRunApprover gives a running approver every case. The requests to
// leave alone exist before it starts and come first in its FIFO queue, so
// once the requests made later are approved the others have been looked at.
func TestRunApprover(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	denied := hostCSR(t, "denied-by-admin", nil)
	denied.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{
		Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue, Reason: "Admin",
	}}
	leave := []*certificatesv1.CertificateSigningRequest{denied}
	var approve []*certificatesv1.CertificateSigningRequest
	for _, c := range csrCases {
		csr := hostCSR(t, strings.ReplaceAll(c.name, " ", "-"), c.mutate)
		if c.why == "" {
			approve = append(approve, csr)
		} else {
			leave = append(leave, csr)
		}
	}
	cs := fake.NewClientset()
	csrs := cs.CertificatesV1().CertificateSigningRequests()
	for _, csr := range leave {
		if _, err := csrs.Create(ctx, csr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- RunApprover(ctx, cs) }()
	waitWatching(t, ctx, cs)
	for _, csr := range approve {
		if _, err := csrs.Create(ctx, csr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, csr := range approve {
		waitApproved(t, ctx, cs, csr.Name)
	}
	for _, csr := range leave {
		t.Run("leaves "+csr.Name, func(t *testing.T) {
			got, err := csrs.Get(ctx, csr.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Status.Conditions) != len(csr.Status.Conditions) {
				t.Fatalf("conditions changed to %+v", got.Status.Conditions)
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunApprover: %v", err)
	}
}

// waitWatching returns once the approver watches CSRs, so that requests
// created from then on reach it as events.
func waitWatching(t *testing.T, ctx context.Context, cs *fake.Clientset) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		for _, a := range cs.Actions() {
			if a.GetVerb() == "watch" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal("the approver never watched CSRs")
	}
	// The fake records a watch just before it registers it.
	time.Sleep(50 * time.Millisecond)
}

func waitApproved(t *testing.T, ctx context.Context, cs *fake.Clientset, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		csr, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateApproved && c.Status == corev1.ConditionTrue && c.Reason == ApprovalReason {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CSR %s was not approved: %v", name, err)
	}
}
