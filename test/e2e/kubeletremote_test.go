package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// TestKubeletAPIOnSecondHost: the kubelet API of a pod-node on another
// host (an agent in its own network namespace) answers through the route
// the first host keeps to its pod block; 50 exec sessions and 20
// port-forwards, some cut mid-stream, leave nothing behind in that agent;
// and the route goes with the host.
func TestKubeletAPIOnSecondHost(t *testing.T) {
	ns := harness.NewNetns(t, "fargo-e2e-kube", 7)
	registry := fmt.Sprintf("%s:%d", ns.HostIP, harness.FreePort(t))
	srv := harness.NewServer(t, "up", t.TempDir(), "--name", "local", "--cpu", "1", "--memory", "2Gi",
		"--bind-address", "0.0.0.0", "--advertise-address", ns.HostIP, "--registry-address", registry)
	srv.Start(t)
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	srv.ImportImages(t, harness.SeedTarball(t))
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	block := netip.MustParsePrefix("10.43.7.0/24")
	agent := harness.NewAgent(t, srv, ns.Name, fmt.Sprintf("https://%s:%d", ns.HostIP, srv.Port), "host-b", t.TempDir(),
		"--pod-cidr", block.String(), "--cpu", "8", "--memory", "16Gi", "--address", ns.IP, "--local-registry", registry)
	agent.Start(t)
	apply(t, srv, studyNamespace)
	// 2 vCPU fit only host-b.
	apply(t, srv, podManifest("remote", "Always", "httpd -p 8080 -h /etc; "+talker, `    resources:
      requests:
        cpu: "2"
        memory: 4Gi
`))
	cs := srv.Client(t)
	pod := waitPod(t, cs, "remote", 2*time.Minute, "running on host-b", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	if !block.Contains(netip.MustParseAddr(pod.Status.PodIP)) {
		t.Fatalf("pod IP %s is not in host-b's block %s", pod.Status.PodIP, block)
	}
	if out := kubectl(t, srv, "logs", "remote", "--tail", "1"); !strings.HasPrefix(out, "line ") && !strings.HasPrefix(out, "err ") {
		t.Errorf("logs from host-b: %q", out)
	}
	if out := kubectl(t, srv, "exec", "remote", "--", "hostname"); out != "remote\n" {
		t.Errorf("exec on host-b: %q", out)
	}
	port, stop := srv.PortForward(t, "study-aews", "pod/remote", "8080")
	body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%s/hostname", port))
	stop()
	if err != nil || body != "remote\n" {
		t.Errorf("port-forward to host-b: %v %q", err, body)
	}
	assertSessionsLeaveNothing(t, srv, agent, pod)

	// host-b leaves: its Host goes, and so does the route to its block.
	route := func() string {
		out, _ := exec.Command("ip", "route", "show", block.String()).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if r := route(); !strings.Contains(r, "via "+ns.IP) {
		t.Errorf("route to host-b's block: %q", r)
	}
	deleteFargatePods(t, srv)
	agent.Stop(t)
	kubectl(t, srv, "delete", "host", "host-b")
	testwait.Eventually(t, 30*time.Second, "the route to host-b's block is gone", func(context.Context) error {
		if r := route(); r != "" {
			return fmt.Errorf("route still there: %s", r)
		}
		return nil
	})
}

// assertSessionsLeaveNothing opens 50 exec sessions and 20 port-forward
// connections to the pod on agent's host, cutting a third of each
// mid-stream, then checks that the agent holds no more file descriptors
// than before and that no exec'd process is left in the container.
func assertSessionsLeaveNothing(t *testing.T, srv *harness.Server, agent *harness.Server, pod *corev1.Pod) {
	fds := func() int {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", agent.Pid()))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	// Warm up: the first session opens connections that stay pooled.
	kubectl(t, srv, "exec", "remote", "--", "true")
	before := fds()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, harness.Binary(t), "kubectl", "--kubeconfig", srv.Kubeconfig, "-n", "study-aews",
				"exec", "remote", "--", "sh", "-c", "echo started; exec sleep 300")
			if i%3 == 0 {
				// Cut mid-stream: kill kubectl once the command runs.
				// Over SPDY, which the apiserver proxies as it is; its
				// WebSocket translator keeps the pod-node's side open
				// until the command ends (README).
				cmd.Env = append(os.Environ(), "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false")
				out, _ := cmd.StdoutPipe()
				_ = cmd.Start()
				buf := make([]byte, 8)
				_, _ = out.Read(buf)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				return
			}
			cmd = exec.CommandContext(ctx, harness.Binary(t), "kubectl", "--kubeconfig", srv.Kubeconfig, "-n", "study-aews",
				"exec", "remote", "--", "echo", "ok")
			if out, err := cmd.CombinedOutput(); err != nil || string(out) != "ok\n" {
				t.Errorf("exec %d: %v %q", i, err, out)
			}
		})
		if i%10 == 9 {
			wg.Wait() // ten at a time: 2 cores
		}
	}
	wg.Wait()
	port, stop := srv.PortForward(t, "study-aews", "pod/remote", "8080")
	for i := range 20 {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 10*time.Second)
		if err != nil {
			t.Fatalf("port-forward connection %d: %v", i, err)
		}
		fmt.Fprintf(conn, "GET /hostname HTTP/1.0\r\n\r\n")
		if i%3 != 0 {
			buf := make([]byte, 512)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = conn.Read(buf)
		}
		conn.Close() // cut mid-stream for a third of them
	}
	stop()
	testwait.Eventually(t, time.Minute, "exec'd processes gone from the container", func(context.Context) error {
		out, err := srv.Kubectl(t, "-n", "study-aews", "exec", "remote", "--", "ps", "-o", "args")
		if err != nil {
			return err
		}
		if strings.Contains(out, "sleep 300") {
			return fmt.Errorf("left: %s", out)
		}
		return nil
	})
	testwait.Eventually(t, time.Minute, "the agent's file descriptors back to where they were", func(context.Context) error {
		if n := fds(); n > before+2 {
			return fmt.Errorf("%d fds, %d before", n, before)
		}
		return nil
	})
}
