// Package conformance runs upstream Kubernetes' [NodeConformance] specs
// (k8s.io/kubernetes/test/e2e, built from the version fargo embeds)
// against a real `fargo up` whose catch-all Fargate profile puts every
// pod on a pod-node of its own. It is a module of its own so that the
// suites' dependencies stay out of fargo's go.mod.
package conformance

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// Run is one run of the suite.
type Run struct {
	// Focus and Skip are ginkgo regular expressions over spec names.
	Focus, Skip string
	// Procs is how many specs run at once (ginkgo's parallel processes).
	Procs int
	// Timeout bounds the whole suite.
	Timeout time.Duration
	// Output is where ginkgo's report and log go; "" for a temporary
	// directory.
	Output string
}

// defaultSkip leaves out what node conformance itself leaves out: specs
// that must run alone or break the node, known flakes, and features that
// are not on by default (alpha and beta).
const defaultSkip = `\[Serial\]|\[Disruptive\]|\[Flaky\]|\[Feature:[^\]]+\]|\[Alpha\]|\[Beta\]`

// keeperNamespace holds the pod that keeps one pod-node in the cluster:
// the suite refuses to start without a Ready, schedulable node.
const keeperNamespace = "fargo-conformance"

// Tools are the binaries a run needs, built from this module.
type Tools struct {
	E2E, Ginkgo, Agnhost, NNP string
}

// BuildTools builds upstream's e2e.test, the ginkgo runner, agnhost and
// nnp into dir; go's build cache makes a second build a link.
func BuildTools(t testing.TB, dir string) Tools {
	t.Helper()
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	tools := Tools{
		E2E: filepath.Join(dir, "e2e.test"), Ginkgo: filepath.Join(dir, "ginkgo"),
		Agnhost: filepath.Join(dir, "agnhost"), NNP: filepath.Join(dir, "nnp"),
	}
	builds := [][]string{
		{"test", "-c", "-o", tools.E2E, "k8s.io/kubernetes/test/e2e"},
		{"build", "-o", tools.Ginkgo, "github.com/onsi/ginkgo/v2/ginkgo"},
		{"build", "-o", tools.Agnhost, "k8s.io/kubernetes/test/images/agnhost"},
		{"build", "-o", tools.NNP, "k8s.io/kubernetes/test/images/nonewprivs"},
	}
	for i, args := range builds {
		cmd := exec.Command("go", args...)
		if i >= 2 {
			// Static: the images have no C library. (e2e.test keeps
			// fargo's build settings, so it reuses fargo's compiled
			// Kubernetes packages.)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	return tools
}

// Cluster starts a `fargo up` for the suite: the stand-in images
// imported, a catch-all profile, and the keeper pod Running.
func Cluster(t testing.TB, tools Tools, extra ...string) *harness.Server {
	t.Helper()
	harness.RequireRoot(t)
	images := filepath.Join(t.TempDir(), "images.tar")
	if err := buildImages(images, filepath.Dir(tools.Agnhost)); err != nil {
		t.Fatal(err)
	}
	// Specs reach the apiserver from pods through the kubernetes Service;
	// the host's capacity is what several specs at once need.
	args := append([]string{"--bind-address", "0.0.0.0", "--cpu", "64", "--memory", "128Gi"}, extra...)
	srv := harness.NewServer(t, "up", t.TempDir(), args...)
	srv.Start(t)
	srv.ImportImages(t, images)
	fargo(t, srv, "create", "fargateprofile", "--cluster", "conformance", "--name", "catch-all", "--namespace", "*")
	startKeeper(t, srv)
	return srv
}

func fargo(t testing.TB, srv *harness.Server, args ...string) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+srv.Kubeconfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fargo %v: %v\n%s", args, err, out)
	}
}

// startKeeper runs a pause pod and waits for its pod-node to be Ready.
func startKeeper(t testing.TB, srv *harness.Server) {
	t.Helper()
	cs := srv.Client(t)
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: keeperNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "keeper"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: pauseRef}}},
	}
	if _, err := cs.CoreV1().Pods(keeperNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 2*time.Minute, "the keeper pod runs", func(ctx context.Context) error {
		p, err := cs.CoreV1().Pods(keeperNamespace).Get(ctx, "keeper", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})
}

// Suite runs the specs r selects against srv with ginkgo and returns
// their results from ginkgo's JSON report.
func (r Run) Suite(t testing.TB, tools Tools, srv *harness.Server) []Result {
	t.Helper()
	out := r.Output
	if out == "" {
		out = t.TempDir()
	}
	// Absolute: ginkgo runs in out and resolves its paths from there.
	out, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	skip := defaultSkip
	if r.Skip != "" {
		skip += "|" + r.Skip
	}
	args := []string{
		"--procs=" + strconv.Itoa(max(r.Procs, 1)), "--timeout=" + r.Timeout.String(),
		// Only node conformance specs, whatever the focus picks among them.
		"--label-filter=NodeConformance", "--focus=" + r.Focus, "--skip=" + skip,
		"--output-dir=" + out, "--json-report=report.json", "--no-color", "--silence-skips",
		tools.E2E, "--",
		"--kubeconfig=" + srv.Kubeconfig, "--provider=skeleton",
		"--non-blocking-taints=eks.amazonaws.com/compute-type", "--num-nodes=1",
		"--report-dir=" + out, "--e2e-output-dir=" + out,
	}
	log, err := os.Create(filepath.Join(out, "ginkgo.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(tools.Ginkgo, args...)
	cmd.Dir = out
	// ginkgo's progress goes to the terminal as it comes.
	cmd.Stdout, cmd.Stderr = io.MultiWriter(log, os.Stdout), io.MultiWriter(log, os.Stdout)
	// Failed specs make ginkgo exit non-zero; the report says which.
	runErr := cmd.Run()
	results, err := readReport(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("ginkgo: %v; reading its report: %v (its output is in %s)", runErr, err, log.Name())
	}
	return results
}
