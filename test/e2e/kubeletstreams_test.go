package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"net"
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
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// assertInteractiveExec drives `kubectl exec -it` through a real terminal
// (tmux): a typed command runs, and a resize of the terminal reaches the
// container's shell.
func assertInteractiveExec(t *testing.T, srv *harness.Server) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (hack/install-deps.sh installs it): cannot drive a terminal")
	}
	session := fmt.Sprintf("fargo-e2e-%d", os.Getpid())
	cmd := fmt.Sprintf("%s kubectl --kubeconfig %s -n study-aews exec -it talker -- sh", harness.Binary(t), srv.Kubeconfig)
	tmux(t, "new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd)
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	tmux(t, "send-keys", "-t", session, "echo $((6*7)) $(tty)", "Enter")
	waitScreen(t, session, regexp.MustCompile(`42 /dev/pts/\d+`))
	tmux(t, "send-keys", "-t", session, "stty size", "Enter")
	waitScreen(t, session, regexp.MustCompile(`(?m)^30 100\s*$`))
	tmux(t, "resize-window", "-t", session, "-x", "120", "-y", "40")
	tmux(t, "send-keys", "-t", session, "stty size", "Enter")
	waitScreen(t, session, regexp.MustCompile(`(?m)^40 120\s*$`))
}

func tmux(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitScreen waits until the tmux pane shows want.
func waitScreen(t *testing.T, session string, want *regexp.Regexp) {
	t.Helper()
	testwait.Eventually(t, 30*time.Second, "terminal shows "+want.String(), func(context.Context) error {
		screen := tmux(t, "capture-pane", "-p", "-t", session)
		if !want.MatchString(screen) {
			return fmt.Errorf("screen:\n%s", screen)
		}
		return nil
	})
}

// assertAttach: `kubectl attach -i` feeds a container's stdin and shows
// what it prints from then on.
func assertAttach(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, podManifest("reader", "Always", `while read l; do echo "got $l"; done`, "    stdin: true\n"))
	waitPod(t, cs, "reader", 2*time.Minute, "running", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), "kubectl", "--kubeconfig", srv.Kubeconfig, "-n", "study-aews", "attach", "-i", "reader")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	// The session is up once an echo comes back; lines sent before may
	// have gone to the container before kubectl attached its output.
	testwait.Eventually(t, 30*time.Second, "attach echoes a line", func(context.Context) error {
		fmt.Fprintln(stdin, "ping")
		if lines.Scan() && strings.HasPrefix(lines.Text(), "got ping") {
			return nil
		}
		return fmt.Errorf("no echo yet")
	})
	fmt.Fprintln(stdin, "hello attach")
	for lines.Scan() {
		if lines.Text() == "got hello attach" {
			break
		}
	}
	if out := kubectl(t, srv, "logs", "reader"); !strings.Contains(out, "got hello attach\n") {
		t.Errorf("the attached line is not in the log:\n%s", out)
	}
}

// assertPortForward: `kubectl port-forward` to a server pod, then HTTP
// through it, matching what the pod serves on its own address.
func assertPortForward(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, podManifest("pfweb", "Always", `mkdir -p /www && echo "hello through port-forward" > /www/index.html && httpd -f -p 8080 -h /www`, ""))
	waitPod(t, cs, "pfweb", 2*time.Minute, "running", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	port, stop := srv.PortForward(t, "study-aews", "pod/pfweb", "8080")
	defer stop()
	testwait.Eventually(t, 30*time.Second, "GET through port-forward", func(context.Context) error {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%s/", port))
		if err != nil {
			return err
		}
		if body != "hello through port-forward\n" {
			return fmt.Errorf("body %q", body)
		}
		return nil
	})
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// assertCopy: `kubectl cp` both ways (tar through exec).
func assertCopy(t *testing.T, srv *harness.Server) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(src, []byte("copied in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, srv, "cp", src, "talker:/tmp/in.txt")
	if out := kubectl(t, srv, "exec", "talker", "--", "cat", "/tmp/in.txt"); out != "copied in\n" {
		t.Errorf("file copied in reads %q", out)
	}
	dst := filepath.Join(dir, "out.txt")
	kubectl(t, srv, "cp", "talker:/tmp/in.txt", dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "copied in\n" {
		t.Errorf("file copied out: %v %q", err, b)
	}
}

// assertTop: metrics-server scrapes the pod-nodes; a busy pod shows CPU.
func assertTop(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, podManifest("busy", "Always", "while true; do :; done", ""))
	pod := waitPod(t, cs, "busy", 2*time.Minute, "running", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	cpu := regexp.MustCompile(`(?m)^busy\s+([1-9]\d*)m\s+\d+Mi`)
	testwait.Eventually(t, 2*time.Minute, "kubectl top pod shows the busy pod's CPU", func(context.Context) error {
		out, err := srv.Kubectl(t, "-n", "study-aews", "top", "pod", "busy")
		if err != nil || !cpu.MatchString(out) {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	node := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(pod.Spec.NodeName) + `\s+([1-9]\d*)m\s+\d+%\s+\d+Mi`)
	testwait.Eventually(t, time.Minute, "kubectl top node shows the pod-node", func(context.Context) error {
		out, err := srv.Kubectl(t, "top", "node", pod.Spec.NodeName)
		if err != nil || !node.MatchString(out) {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// assertBadServingCSRDenied: a host asking for a serving certificate with
// an address that is not its pod-node's gets it denied.
func assertBadServingCSRDenied(t *testing.T, srv *harness.Server, pod *corev1.Pod) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(srv.DataDir, "agent", "credentials", "host.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	host := kubernetes.NewForConfigOrDie(cfg)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:" + pod.Spec.NodeName, Organization: []string{"system:nodes"}},
		DNSNames:    []string{pod.Spec.NodeName},
		IPAddresses: []net.IP{net.ParseIP("10.99.99.99")},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := host.CertificatesV1().CertificateSigningRequests().Create(context.Background(), &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-serving-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 30*time.Second, "the bad serving CSR is denied", func(ctx context.Context) error {
		got, err := host.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == certificatesv1.CertificateApproved {
				return fmt.Errorf("approved: %+v", c)
			}
			if c.Type == certificatesv1.CertificateDenied && strings.Contains(c.Message, "10.99.99.99") {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", got.Status.Conditions)
	})
}
