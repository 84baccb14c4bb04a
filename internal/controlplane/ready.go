package controlplane

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// readyz is the apiserver's own readiness: storage, RBAC bootstrap and the
// other post-start hooks are done.
func (a *adminClient) readyz(ctx context.Context) error {
	_, err := a.clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

// controllersWorking is true once the controller manager acts on the cluster:
// its service-account controller has given namespace default its account.
func (a *adminClient) controllersWorking(ctx context.Context) error {
	_, err := a.clientset.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
	return err
}
