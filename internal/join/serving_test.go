package join

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/fargo-dev/fargo/internal/podnode"
)

// podNode is pod-node pn-1 of host h at 10.42.0.5, as a host registers it.
func podNode(name, host, ip string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{podnode.LabelHost: host}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: ip},
			{Type: corev1.NodeHostName, Address: name + ".pods.example"},
		}},
	}
}

// servingCSR is host h's request for pn-1's serving certificate, as a
// kubelet makes it; mutate changes it into the case under test.
func servingCSR(t *testing.T, name string, mutate func(*certificatesv1.CertificateSigningRequest, *x509.CertificateRequest)) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: certificatesv1.KubeletServingSignerName,
			Username:   HostUser("h"),
			Groups:     []string{HostGroup, "system:authenticated"},
			Usages: []certificatesv1.KeyUsage{
				certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth,
			},
		},
	}
	tmpl := x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:pn-1", Organization: []string{"system:nodes"}},
		DNSNames:    []string{"pn-1", "pn-1.pods.example"},
		IPAddresses: []net.IP{net.ParseIP("10.42.0.5")},
	}
	if mutate != nil {
		mutate(csr, &tmpl)
	}
	if csr.Spec.Request == nil {
		csr.Spec.Request = request(t, tmpl)
	}
	return csr
}

func TestHostOfServingCSR(t *testing.T) {
	cases := []struct {
		name     string
		mutate   func(*certificatesv1.CertificateSigningRequest, *x509.CertificateRequest)
		wantHost string
		wantOurs bool
	}{
		{name: "fargo host", wantHost: "h", wantOurs: true},
		{name: "real kubelet", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
			c.Spec.Username, c.Spec.Groups = "system:node:pn-1", []string{"system:nodes", "system:authenticated"}
		}},
		{name: "host user without the host group", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
			c.Spec.Groups = []string{"system:authenticated"}
		}},
		{name: "host group, other user", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
			c.Spec.Username = "alice"
		}},
		{name: "host group, empty host name", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
			c.Spec.Username = HostUser("")
		}},
		{name: "client signer", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
			c.Spec.SignerName = certificatesv1.KubeAPIServerClientKubeletSignerName
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			host, ok := hostOfServingCSR(servingCSR(t, "csr", c.mutate))
			if ok != c.wantOurs || ok && host != c.wantHost {
				t.Fatalf("hostOfServingCSR = %q, %v; want %q, %v", host, ok, c.wantHost, c.wantOurs)
			}
		})
	}
}

// servingCases are host h's requests and why each is refused; "" means
// it is approved.
var servingCases = []struct {
	name   string
	mutate func(*certificatesv1.CertificateSigningRequest, *x509.CertificateRequest)
	why    string
}{
	{name: "pod-node of the host", why: ""},
	{name: "IP only", why: "", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.DNSNames = nil
	}},
	{name: "wrong IP", why: "IP 10.42.0.6 is not node pn-1's address", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.IPAddresses = []net.IP{net.ParseIP("10.42.0.6")}
	}},
	{name: "extra IP", why: "IP 10.96.0.1", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.IPAddresses = append(r.IPAddresses, net.ParseIP("10.96.0.1"))
	}},
	{name: "no IP", why: "no IP address", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.IPAddresses = nil
	}},
	{name: "DNS name not the node's", why: `DNS name "kubernetes.default.svc" is not one of node pn-1's names`, mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.DNSNames = append(r.DNSNames, "kubernetes.default.svc")
	}},
	{name: "URI name", why: "URI", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.URIs = append(r.URIs, mustURL("spiffe://cluster/pn-1"))
	}},
	{name: "another host's node", why: "node pn-2 is not served by host h", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = "system:node:pn-2"
		r.IPAddresses = []net.IP{net.ParseIP("10.43.0.5")}
		r.DNSNames = nil
	}},
	{name: "real kubelet's node", why: "node kubelet-1 is not served by host h", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = "system:node:kubelet-1"
		r.IPAddresses = []net.IP{net.ParseIP("192.168.1.10")}
		r.DNSNames = nil
	}},
	{name: "missing node", why: `node pn-9: nodes "pn-9" not found`, mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = "system:node:pn-9"
	}},
	{name: "client auth usage", why: `usage "client auth" is not for serving`, mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageClientAuth)
	}},
	{name: "no server auth", why: "usages lack server auth", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}
	}},
	{name: "not a node subject", why: "is not system:node:<node> in system:nodes", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.Organization = []string{"system:masters"}
	}},
	{name: "host CN", why: "is not system:node:<node>", mutate: func(_ *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		r.Subject.CommonName = HostUser("h")
	}},
	{name: "not PEM", why: "PEM", mutate: func(c *certificatesv1.CertificateSigningRequest, _ *x509.CertificateRequest) {
		c.Spec.Request = []byte("garbage")
	}},
}

// clusterNodes are the cluster's: h's pn-1, host h2's pn-2 and a real kubelet's.
func clusterNodes() []runtime.Object {
	real := podNode("kubelet-1", "", "192.168.1.10")
	real.Labels = nil
	return []runtime.Object{podNode("pn-1", "h", "10.42.0.5"), podNode("pn-2", "h2", "10.43.0.5"), real}
}

func TestCheckServingCSR(t *testing.T) {
	cs := fake.NewClientset(clusterNodes()...)
	getNode := func(ctx context.Context, name string) (*corev1.Node, error) {
		return cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	}
	for _, c := range servingCases {
		t.Run(c.name, func(t *testing.T) {
			err := checkServingCSR(context.Background(), getNode, "h", servingCSR(t, "csr", c.mutate))
			if c.why == "" {
				if err != nil {
					t.Fatalf("checkServingCSR: %v, want approval", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("checkServingCSR error %v, want one about %q", err, c.why)
			}
		})
	}
}

// newServingApprover is an approver on a fake clientset holding clusterNodes()
// and csrs, reading CSRs straight from the clientset.
func newServingApprover(t *testing.T, csrs ...*certificatesv1.CertificateSigningRequest) (approver, *fake.Clientset) {
	t.Helper()
	objs := clusterNodes()
	for _, c := range csrs {
		objs = append(objs, c)
	}
	cs := fake.NewClientset(objs...)
	return approver{cs: cs, get: func(name string) (*certificatesv1.CertificateSigningRequest, error) {
		return cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
	}}, cs
}

func conditions(t *testing.T, cs *fake.Clientset, name string) []certificatesv1.CertificateSigningRequestCondition {
	t.Helper()
	csr, err := cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return csr.Status.Conditions
}

func TestApproverDecidesServingCSRs(t *testing.T) {
	for _, c := range servingCases {
		t.Run(c.name, func(t *testing.T) {
			a, cs := newServingApprover(t, servingCSR(t, "serving", c.mutate))
			if err := a.handle(context.Background(), "serving"); err != nil {
				t.Fatalf("handle: %v", err)
			}
			conds := conditions(t, cs, "serving")
			if len(conds) != 1 {
				t.Fatalf("conditions = %+v, want one decision", conds)
			}
			got := conds[0]
			if got.Status != corev1.ConditionTrue || got.Reason != ServingApprovalReason {
				t.Fatalf("condition %+v, want status True and reason %s", got, ServingApprovalReason)
			}
			if c.why == "" {
				if got.Type != certificatesv1.CertificateApproved || !strings.Contains(got.Message, "host h") {
					t.Fatalf("condition %+v, want Approved naming host h", got)
				}
				return
			}
			if got.Type != certificatesv1.CertificateDenied || !strings.Contains(got.Message, c.why) {
				t.Fatalf("condition %+v, want Denied with a message about %q", got, c.why)
			}
		})
	}
}

func TestApproverLeavesRealKubeletServingCSR(t *testing.T) {
	csr := servingCSR(t, "kubelet-serving", func(c *certificatesv1.CertificateSigningRequest, r *x509.CertificateRequest) {
		c.Spec.Username, c.Spec.Groups = "system:node:kubelet-1", []string{"system:nodes", "system:authenticated"}
		r.Subject.CommonName = "system:node:kubelet-1"
		r.IPAddresses = []net.IP{net.ParseIP("192.168.1.10")}
		r.DNSNames = []string{"kubelet-1"}
	})
	a, cs := newServingApprover(t, csr)
	cs.ClearActions()
	if err := a.handle(context.Background(), csr.Name); err != nil {
		t.Fatalf("handle: %v", err)
	}
	for _, act := range cs.Actions() {
		if act.GetVerb() != "get" {
			t.Errorf("approver did %s %s/%s on a real kubelet's CSR", act.GetVerb(), act.GetResource().Resource, act.GetSubresource())
		}
	}
	if conds := conditions(t, cs, csr.Name); len(conds) != 0 {
		t.Fatalf("conditions = %+v, want none", conds)
	}
}

// A failure to read the node is not a reason to deny: the request is
// decided on a later try.
func TestApproverRetriesServingCSROnNodeReadError(t *testing.T) {
	a, cs := newServingApprover(t, servingCSR(t, "serving", nil))
	cs.PrependReactor("get", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver unavailable")
	})
	if err := a.handle(context.Background(), "serving"); err == nil || !strings.Contains(err.Error(), "apiserver unavailable") {
		t.Fatalf("handle = %v, want the node read error", err)
	}
	if conds := conditions(t, cs, "serving"); len(conds) != 0 {
		t.Fatalf("conditions = %+v, want none until the node can be read", conds)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
