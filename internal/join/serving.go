package join

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/podnode"
)

// ServingApprovalReason is the reason of the condition set on a pod-node's
// serving CSR.
const ServingApprovalReason = "FargoPodNodeServing"

// servingUsages are the key usages a pod-node's serving certificate may have.
var servingUsages = []certificatesv1.KeyUsage{
	certificatesv1.UsageServerAuth, certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment,
}

// hostOfServingCSR returns the requesting host when csr is a fargo host's
// kubelet-serving request; other requests (a real kubelet's) are not ours.
func hostOfServingCSR(csr *certificatesv1.CertificateSigningRequest) (string, bool) {
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName || !slices.Contains(csr.Spec.Groups, HostGroup) {
		return "", false
	}
	host, ok := strings.CutPrefix(csr.Spec.Username, hostUserPrefix)
	// No host is named "": with it, a node without the host label (a
	// real kubelet's) would pass checkServingCSR's ownership test.
	return host, ok && host != ""
}

// checkServingCSR says why host may not have csr's certificate, or nil
// when it names one of host's pod-nodes with exactly that node's address
// and names, for serving only.
func checkServingCSR(ctx context.Context, getNode func(context.Context, string) (*corev1.Node, error), host string, csr *certificatesv1.CertificateSigningRequest) error {
	for _, u := range csr.Spec.Usages {
		if !slices.Contains(servingUsages, u) {
			return fmt.Errorf("usage %q is not for serving", u)
		}
	}
	if !slices.Contains(csr.Spec.Usages, certificatesv1.UsageServerAuth) {
		return errors.New("usages lack server auth")
	}
	req, err := parseRequest(csr.Spec.Request)
	if err != nil {
		return err
	}
	name, ok := strings.CutPrefix(req.Subject.CommonName, "system:node:")
	if !ok || !slices.Equal(req.Subject.Organization, []string{"system:nodes"}) {
		return fmt.Errorf("subject %q is not system:node:<node> in system:nodes", req.Subject.String())
	}
	node, err := getNode(ctx, name)
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if node.Labels[podnode.LabelHost] != host {
		return fmt.Errorf("node %s is not served by host %s", name, host)
	}
	return checkServingNames(req, node)
}

// checkServingNames wants the IP SANs to be exactly the node's InternalIP
// and the DNS SANs among its name and host names.
func checkServingNames(req *x509.CertificateRequest, node *corev1.Node) error {
	if len(req.EmailAddresses)+len(req.URIs) > 0 {
		return errors.New("request has e-mail or URI names")
	}
	names := []string{node.Name}
	var ips []net.IP
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeInternalIP:
			ips = append(ips, net.ParseIP(a.Address))
		case corev1.NodeHostName, corev1.NodeInternalDNS:
			names = append(names, a.Address)
		}
	}
	if len(req.IPAddresses) == 0 {
		return errors.New("request has no IP address")
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			return fmt.Errorf("IP %s is not node %s's address %v", ip, node.Name, ips)
		}
	}
	for _, n := range req.DNSNames {
		if !slices.Contains(names, n) {
			return fmt.Errorf("DNS name %q is not one of node %s's names %v", n, node.Name, names)
		}
	}
	return nil
}

// decideServing approves or denies a fargo host's serving CSR.
func (a approver) decideServing(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, host string) error {
	var transient error
	getNode := func(ctx context.Context, name string) (*corev1.Node, error) {
		n, err := a.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			transient = err
		}
		return n, err
	}
	cond := certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: ServingApprovalReason,
		Message: fmt.Sprintf("fargo approved the serving certificate of a pod-node of host %s", host), LastUpdateTime: metav1.Now(),
	}
	if err := checkServingCSR(ctx, getNode, host, csr); err != nil {
		if transient != nil {
			return transient // decided on the next try
		}
		cond.Type, cond.Message = certificatesv1.CertificateDenied, "fargo denied it: "+err.Error()
	}
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, cond)
	_, err := a.cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	return err
}
