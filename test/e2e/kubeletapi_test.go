package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// startForKubeletAPI is startRunning with logs that rotate at 4 KiB, so a
// test sees a rotation within seconds.
func startForKubeletAPI(t *testing.T, extra ...string) *harness.Server {
	t.Helper()
	srv := harness.NewServer(t, "up", t.TempDir(), append([]string{"--name", "local", "--cpu", "8", "--memory", "16Gi",
		"--container-log-max-size", "4Ki", "--container-log-max-files", "3"}, extra...)...)
	srv.Start(t)
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	srv.ImportImages(t, harness.SeedTarball(t))
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	apply(t, srv, studyNamespace)
	return srv
}

// kubectl runs kubectl in study-aews and fails the test on an error.
func kubectl(t *testing.T, srv *harness.Server, args ...string) string {
	t.Helper()
	out, err := srv.Kubectl(t, append([]string{"-n", "study-aews"}, args...)...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

const talker = `i=0; while true; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.1; done`

// TestKubeletAPI walks `kubectl logs`, exec, attach, port-forward and cp
// against pod-nodes of `fargo up`, and the kubelet API's refusals.
func TestKubeletAPI(t *testing.T) { runKubeletAPISuite(t) }

// runKubeletAPISuite is TestKubeletAPI on a cluster started with extra
// flags (another sandbox tier).
func runKubeletAPISuite(t *testing.T, extra ...string) {
	srv := startForKubeletAPI(t, extra...)
	cs := srv.Client(t)
	apply(t, srv, podManifest("talker", "Always", talker, ""))
	pod := waitPod(t, cs, "talker", 2*time.Minute, "running", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	t.Run("logs", func(t *testing.T) { assertLogs(t, srv) })
	t.Run("logs follow a rotation", func(t *testing.T) { assertLogRotation(t, srv, pod) })
	t.Run("exec", func(t *testing.T) { assertExec(t, srv) })
	t.Run("exec -it in a terminal", func(t *testing.T) { assertInteractiveExec(t, srv) })
	t.Run("attach", func(t *testing.T) { assertAttach(t, srv, cs) })
	t.Run("port-forward", func(t *testing.T) { assertPortForward(t, srv, cs) })
	t.Run("cp", func(t *testing.T) { assertCopy(t, srv) })
	t.Run("top", func(t *testing.T) { assertTop(t, srv, cs) })
	t.Run("logs --previous", func(t *testing.T) { assertPreviousLogs(t, srv, cs) })
	t.Run("serving certificate", func(t *testing.T) { assertServingCSR(t, cs, pod) })
	t.Run("bad serving CSR denied", func(t *testing.T) { assertBadServingCSRDenied(t, srv, pod) })
	t.Run("refusals", func(t *testing.T) { assertRefusals(t, srv, cs, pod) })
}

func assertLogs(t *testing.T, srv *harness.Server) {
	// Ready is not three lines written: a microVM under TCG may have
	// written two by then.
	testwait.Eventually(t, time.Minute, "talker to have written 3 lines", func(context.Context) error {
		if n := strings.Count(kubectl(t, srv, "logs", "talker"), "\n"); n < 3 {
			return fmt.Errorf("%d lines", n)
		}
		return nil
	})
	out := kubectl(t, srv, "logs", "talker", "--tail", "3")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 {
		t.Errorf("logs --tail 3: %d lines:\n%s", len(lines), out)
	}
	out = kubectl(t, srv, "logs", "talker", "--timestamps", "--tail", "1")
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (line|err) \d+\n$`).MatchString(out) {
		t.Errorf("logs --timestamps: %q", out)
	}
	if out := kubectl(t, srv, "logs", "talker", "--since", "1h", "--limit-bytes", "20"); len(out) != 20 {
		t.Errorf("logs --since 1h --limit-bytes 20: %q", out)
	}
	if out := kubectl(t, srv, "logs", "talker", "--since-time", time.Now().Add(time.Hour).Format(time.RFC3339)); out != "" {
		t.Errorf("logs --since-time in the future: %q", out)
	}
	// -f streams lines as they come: two lines written after it started.
	seen := followLines(t, srv, 2, "logs", "-f", "talker", "--tail", "0")
	if len(seen) != 2 {
		t.Errorf("logs -f: %v", seen)
	}
	out, err := srv.Kubectl(t, "-n", "study-aews", "logs", "talker", "-c", "nosuch")
	if err == nil || !strings.Contains(out, `container nosuch is not valid for pod talker`) {
		t.Errorf("logs of a missing container: %v: %s", err, out)
	}
	out, err = srv.Kubectl(t, "-n", "study-aews", "logs", "talker", "--previous")
	if err == nil || !strings.Contains(out, `previous terminated container "c" in pod "talker" not found`) {
		t.Errorf("logs --previous of a first attempt: %v: %s", err, out)
	}
}

// assertPreviousLogs: after a restart, --previous reads the attempt
// before the current one.
func assertPreviousLogs(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, podManifest("restarter", "Always", `echo "run $(cat /proc/sys/kernel/random/uuid)"; sleep 1; exit 1`, ""))
	waitPod(t, cs, "restarter", 2*time.Minute, "restarted", func(p *corev1.Pod) error {
		if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].RestartCount < 1 {
			return fmt.Errorf("not restarted yet")
		}
		return nil
	})
	prev := kubectl(t, srv, "logs", "restarter", "--previous")
	if !regexp.MustCompile(`^run [0-9a-f-]{36}\n$`).MatchString(prev) {
		t.Errorf("logs --previous: %q", prev)
	}
	testwait.Eventually(t, time.Minute, "current log differs from the previous", func(context.Context) error {
		cur, err := srv.Kubectl(t, "-n", "study-aews", "logs", "restarter")
		if err != nil || cur == prev || !strings.HasPrefix(cur, "run ") {
			return fmt.Errorf("current %q, previous %q, %v", cur, prev, err)
		}
		return nil
	})
}

// followLines runs kubectl with args until it printed n lines.
func followLines(t *testing.T, srv *harness.Server, n int, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), append([]string{"kubectl", "--kubeconfig", srv.Kubeconfig, "-n", "study-aews"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var lines []string
	sc := bufio.NewScanner(stdout)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// assertLogRotation: the talker writes past 4 KiB in seconds; its log is
// rotated (a rotated file appears beside it) and `kubectl logs -f` goes on
// across rotations without a gap.
func assertLogRotation(t *testing.T, srv *harness.Server, pod *corev1.Pod) {
	dir := filepath.Join("/var/log/pods", fmt.Sprintf("study-aews_talker_%s", pod.UID), "c")
	lines := followLines(t, srv, 400, "logs", "-f", "talker", "--tail", "0")
	entries, _ := os.ReadDir(dir)
	var rotated []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "0.log.") {
			rotated = append(rotated, e.Name())
		}
	}
	if len(rotated) == 0 || len(rotated) > 2 {
		t.Errorf("rotated files in %s: %v, want 1 or 2 (max files 3)", dir, rotated)
	}
	last := -1
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(l, "line %d", &n); err != nil {
			continue
		}
		if last >= 0 && n != last+1 {
			t.Errorf("logs -f across rotation jumped from line %d to %d", last, n)
		}
		last = n
	}
}

func assertExec(t *testing.T, srv *harness.Server) {
	out, err := srv.Kubectl(t, "-n", "study-aews", "exec", "talker", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3")
	if err == nil || !strings.Contains(out, "hi\n") || !strings.Contains(out, "oops\n") || !strings.Contains(out, "command terminated with exit code 3") {
		t.Errorf("exec exit 3: %v: %q", err, out)
	}
	out, err = srv.KubectlStdin(t, "from stdin\n", "-n", "study-aews", "exec", "-i", "talker", "--", "cat")
	if err != nil || out != "from stdin\n" {
		t.Errorf("exec -i cat: %v: %q", err, out)
	}
	out, err = srv.Kubectl(t, "-n", "study-aews", "exec", "talker", "--", "/no/such/binary")
	if err == nil || !strings.Contains(out, "/no/such/binary") {
		t.Errorf("exec of a missing binary: %v: %q", err, out)
	}
	out, err = srv.Kubectl(t, "-n", "study-aews", "exec", "talker", "--", "hostname")
	if err != nil || out != "talker\n" {
		t.Errorf("exec hostname: %v: %q", err, out)
	}
}

// assertServingCSR: the pod-node's kubelet serving certificate came from
// an Approved, Issued kubelet-serving CSR for exactly that node.
func assertServingCSR(t *testing.T, cs kubernetes.Interface, pod *corev1.Pod) {
	list, err := cs.CertificatesV1().CertificateSigningRequests().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, csr := range list.Items {
		if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName || len(csr.Status.Certificate) == 0 {
			continue
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateApproved {
				return
			}
		}
	}
	t.Errorf("no Approved, Issued kubelet-serving CSR for %s", pod.Spec.NodeName)
}

// assertRefusals: the kubelet API wants credentials and authorisation.
func assertRefusals(t *testing.T, srv *harness.Server, _ kubernetes.Interface, pod *corev1.Pod) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	url := fmt.Sprintf("https://%s:10250/pods", pod.Status.PodIP)
	if code := status(t, client, url, ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous GET %s: %d, want 401", url, code)
	}
	kubectl(t, srv, "create", "serviceaccount", "nobody")
	token := strings.TrimSpace(kubectl(t, srv, "create", "token", "nobody"))
	if code := status(t, client, url, token); code != http.StatusForbidden {
		t.Errorf("GET %s as a ServiceAccount without nodes/proxy: %d, want 403", url, code)
	}
}

func status(t *testing.T, client *http.Client, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
