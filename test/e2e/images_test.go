package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// importedImage is a name no seed image has, with a layer of its own, so
// the pod can run only from what this test imports.
const importedImage = "example.com/fargo-e2e/imported:v1"

// fargoWithDataDirEnv runs the fargo binary with $FARGO_DATA_DIR set and
// no --data-dir, as a user of that cluster's shell would.
func fargoWithDataDirEnv(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(os.Environ(), "FARGO_DATA_DIR="+dataDir, "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestImagesWhereTheClusterIs walks issue 13's images: with
// FARGO_DATA_DIR naming a running cluster's data dir, an import goes
// through that cluster's registry and a pod runs the image; removing it
// while the pod runs is refused naming the pod, and allowed once the pod
// is gone; the host's layer cache shows its numbers.
func TestImagesWhereTheClusterIs(t *testing.T) {
	srv := startUp(t, "4", "8Gi")
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	cs := srv.Client(t)
	tarball := filepath.Join(t.TempDir(), "imported.tar")
	if err := harness.WriteImageTarballWithData(tarball, 64<<10, importedImage); err != nil {
		t.Fatal(err)
	}

	out, err := fargoWithDataDirEnv(t, srv.DataDir, "image", "import", tarball)
	if err != nil || !strings.Contains(out, importedImage) {
		t.Fatalf("fargo image import with FARGO_DATA_DIR: %v\n%s", err, out)
	}
	if !strings.Contains(out, "the local registry of the fargo running on "+srv.DataDir) {
		t.Errorf("import did not go through the running fargo's registry:\n%s", out)
	}

	apply(t, srv, studyNamespace+"---\n"+fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: imported
  namespace: study-aews
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %s
    command: ["sh", "-c", "test -s /data/random && sleep 3600"]
`, importedImage))
	waitPod(t, cs, "imported", 2*time.Minute, "running the imported image", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("not running")
		}
		return nil
	})

	out, err = fargoWithDataDirEnv(t, srv.DataDir, "image", "rm", importedImage)
	if err == nil || !strings.Contains(out, "in use by pod study-aews/imported") {
		t.Fatalf("fargo image rm of the running pod's image: %v, want a refusal naming the pod:\n%s", err, out)
	}
	if out, err := fargoWithDataDirEnv(t, srv.DataDir, "image", "list"); err != nil || !strings.Contains(out, importedImage) {
		t.Fatalf("after the refused rm, list: %v\n%s", err, out)
	}
	out, err = fargoWithDataDirEnv(t, srv.DataDir, "image", "list", "--host-cache")
	if m := regexp.MustCompile(`Layers:\s+(\d+)`).FindStringSubmatch(out); err != nil || m == nil || m[1] == "0" {
		t.Errorf("fargo image list --host-cache: %v, want the pulled layers counted:\n%s", err, out)
	}

	deletePodAndWait(t, srv, "imported")
	out, err = fargoWithDataDirEnv(t, srv.DataDir, "image", "rm", importedImage)
	if err != nil || !strings.Contains(out, "removed "+importedImage) {
		t.Fatalf("fargo image rm once the pod is gone: %v\n%s", err, out)
	}
	if out, err := fargoWithDataDirEnv(t, srv.DataDir, "image", "list"); strings.Contains(out, importedImage) {
		t.Fatalf("the removed image is still listed (%v):\n%s", err, out)
	}
}

// deletePodAndWait deletes pod name of study-aews and waits until it is gone.
func deletePodAndWait(t *testing.T, srv *harness.Server, name string) {
	t.Helper()
	cs := srv.Client(t)
	if err := cs.CoreV1().Pods("study-aews").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, time.Minute, name+" gone", func(ctx context.Context) error {
		_, err := cs.CoreV1().Pods("study-aews").Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}
