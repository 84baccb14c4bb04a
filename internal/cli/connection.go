package cli

// The connection code every verb that talks to a cluster shares: which
// kubeconfig to read, and how an apiserver's error reads to a user.

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/profileclient"
)

// clientFlags are the connection flags every profile verb shares.
type clientFlags struct {
	kubeconfig string
	// client, when set, is used instead of one built from the kubeconfig:
	// tests set it to a client on a fake.
	client *profileclient.Client
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, else $"+dataDirEnv+"/admin.kubeconfig, else "+
		filepath.Join(controlplane.Default().DataDir, "admin.kubeconfig")+")")
}

// profiles returns the client, reading the kubeconfig as `fargo kubectl`
// does: --kubeconfig, else $KUBECONFIG, else the data dir's admin.kubeconfig.
func (f *clientFlags) profiles() (*profileclient.Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	return profileclient.NewForConfig(cfg)
}

// restConfig reads the kubeconfig named by the flags, $KUBECONFIG or the
// data dir, in that order.
func (f *clientFlags) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	source := "--kubeconfig " + f.kubeconfig
	switch {
	case f.kubeconfig != "":
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		source = "$" + clientcmd.RecommendedConfigPathEnvVar
	default:
		rules.ExplicitPath = defaultKubeconfig()
		source = rules.ExplicitPath
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot use the kubeconfig (%s): %v; start the cluster with fargo up, or pass --kubeconfig", source, err)
	}
	return cfg, nil
}

// apiError turns a client error into one line a user can act on: the
// apiserver's own message (admission denials carry fargo's reasons)
// without the HTTP and Go wrapping around it.
func apiError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		if s.Reason == metav1.StatusReasonNotFound && (s.Details == nil || s.Details.Name == "") {
			return errors.New("this cluster does not serve FargateProfiles (" + profileclient.GVR.GroupResource().String() + "): is it a fargo cluster?")
		}
		return errors.New(strings.Join(strings.Fields(s.Message), " "))
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		server := urlErr.URL
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			server = u.Scheme + "://" + u.Host
		}
		return fmt.Errorf("cannot reach the cluster at %s: %v; is fargo up running?", server, urlErr.Err)
	}
	return err
}
