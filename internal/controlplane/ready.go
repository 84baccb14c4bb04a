package controlplane

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// adminClient asks the apiserver, with the admin credential, whether the
// control plane is ready.
type adminClient struct {
	config    *rest.Config
	clientset kubernetes.Interface
}

func newAdminClient(l Layout) (*adminClient, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.AdminKubeconfig())
	if err != nil {
		return nil, err
	}
	quick := rest.CopyConfig(cfg)
	quick.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(quick)
	if err != nil {
		return nil, err
	}
	return &adminClient{config: cfg, clientset: cs}, nil
}

// apiserverReady is the apiserver's own readiness: storage, RBAC
// bootstrap and the other post-start hooks are done. fargo's check, which
// needs a serving apiserver to pass, is left out.
func (a *adminClient) apiserverReady(ctx context.Context) error {
	_, err := a.clientset.Discovery().RESTClient().Get().AbsPath("/readyz").Param("exclude", ReadyzCheck).DoRaw(ctx)
	return err
}

// crdsServed is true once the apiserver serves the CRD API, before it is
// ready.
func (a *adminClient) crdsServed(ctx context.Context) error {
	_, err := a.clientset.Discovery().RESTClient().Get().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").Param("limit", "1").DoRaw(ctx)
	return err
}

// ReadyzCheck names fargo's check in the apiserver's /readyz; it also
// answers alone at /readyz/fargo.
const ReadyzCheck = "fargo"

// readyzPart is one thing fargo's readyz check waits for.
type readyzPart struct {
	name  string
	ready <-chan struct{}
}

// fargoReadyz is the check: it passes once every part is ready — the
// controller manager works (namespaces get their default service
// account) and fargo's CRDs are established, its admission webhook serves
// and is registered and the fargate-scheduler runs. Whatever waits for
// /readyz (a script, kubectl wait) may then create profiles and pods.
func fargoReadyz(parts ...readyzPart) healthz.HealthChecker {
	return healthz.NamedCheck(ReadyzCheck, func(*http.Request) error {
		var waiting []string
		for _, p := range parts {
			select {
			case <-p.ready:
			default:
				waiting = append(waiting, p.name)
			}
		}
		if len(waiting) > 0 {
			return errors.New("starting: " + strings.Join(waiting, ", "))
		}
		return nil
	})
}

// controllersWorking is true once the controller manager acts on the cluster:
// its service-account controller has given namespace default its account.
func (a *adminClient) controllersWorking(ctx context.Context) error {
	_, err := a.clientset.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
	return err
}
