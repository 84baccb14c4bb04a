package e2e

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// TestReadyzMeansFargoIsReady is the script every CI writes: start fargo
// up, wait for nothing but the apiserver's /readyz, then create a profile
// and a pod at once. Both must succeed: /readyz holds fargo's own check.
func TestReadyzMeansFargoIsReady(t *testing.T) {
	harness.RequireRoot(t)
	srv := harness.NewServer(t, "up", t.TempDir())
	srv.ReadyLine = "data dir" // the first line: the process runs
	srv.Start(t)
	waitReadyz(t, srv)

	var wg sync.WaitGroup
	var profileOut, podOut string
	var profileErr, podErr error
	wg.Go(func() {
		profileOut, profileErr = fargo(t, srv, "create", "fargateprofile", "--cluster", "ci", "--name", "ci", "--namespace", "default")
	})
	wg.Go(func() {
		podOut, podErr = srv.KubectlStdin(t, `apiVersion: v1
kind: Pod
metadata:
  name: first
  namespace: default
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
`, "create", "-f", "-")
	})
	wg.Wait()
	if profileErr != nil {
		t.Errorf("fargo create fargateprofile right after /readyz: %v\n%s", profileErr, profileOut)
	}
	if podErr != nil {
		t.Errorf("kubectl create pod right after /readyz: %v\n%s", podErr, podOut)
	}
}

// waitReadyz polls the apiserver's /readyz as a script would (with the
// admin kubeconfig, once it exists) until it answers ok.
func waitReadyz(t *testing.T, srv *harness.Server) {
	t.Helper()
	testwait.Eventually(t, 3*time.Minute, "/readyz ok", func(ctx context.Context) error {
		if _, err := os.Stat(srv.Kubeconfig); err != nil {
			return err
		}
		cs, err := kubernetes.NewForConfig(srv.RESTConfig(t))
		if err != nil {
			return err
		}
		_, err = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}
