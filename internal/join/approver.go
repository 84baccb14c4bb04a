package join

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/reconcile"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"k8s.io/klog/v2"
)

// ApprovalReason is the reason of the Approved condition RunApprover sets.
const ApprovalReason = "FargoHostJoin"

// allowedUsages are the key usages a host's client certificate may have.
var allowedUsages = []certificatesv1.KeyUsage{
	certificatesv1.UsageClientAuth, certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment,
}

// RunApprover approves the certificate signing requests of joining hosts
// and the serving certificates hosts request for their pod-nodes, until
// ctx ends; the controller manager's csrsigning controller then issues
// them. It approves exactly what isHostCSR accepts; of a host's serving
// requests it approves those checkServingCSR accepts and denies the rest;
// it never touches any other request: those belong to other approvers or
// to an administrator.
func RunApprover(ctx context.Context, cs kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactory(cs, 0)
	informer := factory.Certificates().V1().CertificateSigningRequests()
	a := approver{cs: cs, get: informer.Lister().Get}
	loop := reconcile.New("fargo-join-approver", func(ctx context.Context, name string) (time.Duration, error) {
		return 0, a.handle(ctx, name)
	})
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			loop.Add(key)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		return nil
	}
	loop.Run(ctx, 1)
	return nil
}

type approver struct {
	cs  kubernetes.Interface
	get func(name string) (*certificatesv1.CertificateSigningRequest, error)
}

func (a approver) handle(ctx context.Context, name string) error {
	csr, err := a.get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if decided(csr) {
		return nil
	}
	if host, ok := hostOfServingCSR(csr); ok {
		return a.decideServing(ctx, csr, host)
	}
	host, err := isHostCSR(csr)
	if err != nil {
		klog.FromContext(ctx).V(4).Info("Leaving CSR to others", "csr", name, "why", err.Error())
		return nil
	}
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type:           certificatesv1.CertificateApproved,
		Status:         corev1.ConditionTrue,
		Reason:         ApprovalReason,
		Message:        fmt.Sprintf("fargo approved the client certificate of host %s, requested with a join token", host),
		LastUpdateTime: metav1.Now(),
	})
	_, err = a.cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	if err == nil {
		klog.FromContext(ctx).Info("Approved host certificate", "csr", name, "host", host, "requester", csr.Spec.Username)
	}
	return err
}

// decided reports whether csr was already approved or denied.
func decided(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied {
			return true
		}
	}
	return false
}

// isHostCSR returns the host name when csr is a joining host's request for
// its client certificate: made with a fargo bootstrap token, for signer
// kube-apiserver-client, subject CN HostUser(name) and O exactly
// [HostGroup], no SANs, client-auth usages only. Otherwise the error says
// what does not fit.
func isHostCSR(csr *certificatesv1.CertificateSigningRequest) (string, error) {
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		return "", fmt.Errorf("signer %q is not %s", csr.Spec.SignerName, certificatesv1.KubeAPIServerClientSignerName)
	}
	if err := checkRequester(csr.Spec.Username, csr.Spec.Groups); err != nil {
		return "", err
	}
	if err := checkUsages(csr.Spec.Usages); err != nil {
		return "", err
	}
	req, err := parseRequest(csr.Spec.Request)
	if err != nil {
		return "", err
	}
	return checkSubject(req)
}

func checkRequester(user string, groups []string) error {
	id, ok := strings.CutPrefix(user, bootstrapapi.BootstrapUserPrefix)
	if !ok || !bootstraputil.IsValidBootstrapTokenID(id) {
		return fmt.Errorf("requester %q is not a bootstrap token", user)
	}
	if !slices.Contains(groups, BootstrapGroup) {
		return fmt.Errorf("requester %q is not in group %s", user, BootstrapGroup)
	}
	return nil
}

func checkUsages(usages []certificatesv1.KeyUsage) error {
	if !slices.Contains(usages, certificatesv1.UsageClientAuth) {
		return errors.New("usages lack client auth")
	}
	for _, u := range usages {
		if !slices.Contains(allowedUsages, u) {
			return fmt.Errorf("usage %q is not allowed", u)
		}
	}
	return nil
}

func parseRequest(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("request is not a PEM CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("request signature: %w", err)
	}
	return req, nil
}

func checkSubject(req *x509.CertificateRequest) (string, error) {
	host, ok := strings.CutPrefix(req.Subject.CommonName, hostUserPrefix)
	if !ok {
		return "", fmt.Errorf("common name %q is not %s<host>", req.Subject.CommonName, hostUserPrefix)
	}
	if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
		return "", fmt.Errorf("host name %q: %s", host, strings.Join(errs, "; "))
	}
	if !slices.Equal(req.Subject.Organization, []string{HostGroup}) {
		return "", fmt.Errorf("organization %q is not exactly [%s]", req.Subject.Organization, HostGroup)
	}
	if len(req.DNSNames)+len(req.EmailAddresses)+len(req.IPAddresses)+len(req.URIs) > 0 {
		return "", errors.New("request has subject alternative names")
	}
	return host, nil
}
