package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// burstDeployment is n replicas of the smallest Fargate size in study-aews.
func burstDeployment(name string, n int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: study-aews
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: study-aews
spec:
  replicas: %d
  selector:
    matchLabels: {app: %s}
  template:
    metadata:
      labels: {app: %s}
    spec:
      containers:
      - name: c
        image: busybox
        resources:
          requests: {cpu: 250m, memory: 256Mi}
`, name, n, name, name)
}

// TestHostsInNetworkNamespaces: two agents, each in its own network
// namespace standing for its own machine, with its own zone and block,
// share a burst of 40 pods without double-booking; a host whose heartbeat
// stops is not chosen any more.
func TestHostsInNetworkNamespaces(t *testing.T) {
	nsA, nsB := harness.NewNetns(t, "fargo-e2e-a", 1), harness.NewNetns(t, "fargo-e2e-b", 2)
	srv := harness.NewServer(t, "server", t.TempDir(), "--bind-address", "0.0.0.0",
		"--tls-san", nsA.HostIP, "--tls-san", nsB.HostIP)
	srv.Start(t)
	if !strings.Contains(srv.Output(), "fargo agent --server https://") {
		t.Errorf("fargo server did not print the join command:\n%s", srv.Output())
	}
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	blocks := map[string]netip.Prefix{"host-a": netip.MustParsePrefix("10.42.1.0/24"), "host-b": netip.MustParsePrefix("10.42.2.0/24")}
	agents := map[string]*harness.Server{}
	for name, ns := range map[string]*harness.Netns{"host-a": nsA, "host-b": nsB} {
		zone := "us-east-1" + name[len(name)-1:]
		a := harness.NewAgent(t, srv, ns.Name, fmt.Sprintf("https://%s:%d", ns.HostIP, srv.Port), name, t.TempDir(),
			"--zone", zone, "--pod-cidr", blocks[name].String(), "--cpu", "8", "--memory", "16Gi")
		a.Start(t)
		agents[name] = a
	}
	cs := srv.Client(t)
	apply(t, srv, burstDeployment("burst", 40))
	pods := boundPods(t, cs, "study-aews", "app=burst", 40)
	perHost := assertNoDoubleBooking(t, cs, pods, blocks, map[string]string{"host-a": "us-east-1a", "host-b": "us-east-1b"})
	for host, n := range perHost {
		// 8 vCPU hold 32 pods of 0.25 vCPU; spreading one Deployment over
		// the two zones puts half on each.
		if n != 20 {
			t.Errorf("host %s got %d of 40 pods: want them spread evenly over the two zones", host, n)
		}
	}

	// host-a hangs: its heartbeat stops, it turns NotReady, and new pods
	// all go to host-b.
	agents["host-a"].Pause(t)
	defer agents["host-a"].Resume(t)
	testwait.Eventually(t, 90*time.Second, "host-a not ready", func(ctx context.Context) error {
		out, _ := fargo(t, srv, "get", "hosts")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "host-a" && f[1] == "False" {
				return nil
			}
		}
		return fmt.Errorf("fargo get hosts:\n%s", out)
	})
	apply(t, srv, burstDeployment("after", 6))
	for _, p := range boundPods(t, cs, "study-aews", "app=after", 6) {
		if !blocks["host-b"].Contains(netip.MustParseAddr(p.Status.PodIP)) {
			t.Errorf("pod %s placed on %s (IP %s) after host-a's heartbeat stopped", p.Name, p.Spec.NodeName, p.Status.PodIP)
		}
	}
}

// assertNoDoubleBooking checks that every pod has its own IP, inside the
// block of the host its node names, and returns the pods per host.
func assertNoDoubleBooking(t *testing.T, cs kubernetes.Interface, pods []corev1.Pod, blocks map[string]netip.Prefix, zones map[string]string) map[string]int {
	t.Helper()
	perHost := map[string]int{}
	seen := map[string]string{}
	for _, p := range pods {
		if other, dup := seen[p.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share IP %s", other, p.Name, p.Status.PodIP)
		}
		seen[p.Status.PodIP] = p.Name
		node, err := cs.CoreV1().Nodes().Get(context.Background(), p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Errorf("pod %s's node: %v", p.Name, err)
			continue
		}
		host := node.Labels["fargo.dev/host"]
		perHost[host]++
		if block, ok := blocks[host]; !ok || !block.Contains(netip.MustParseAddr(p.Status.PodIP)) {
			t.Errorf("pod %s IP %s on host %q outside its block %v", p.Name, p.Status.PodIP, host, block)
		}
		if z, wantZone := node.Labels[corev1.LabelTopologyZone], zones[host]; z != wantZone {
			t.Errorf("node %s of host %s in zone %s, want %s", node.Name, host, z, wantZone)
		}
	}
	return perHost
}

// TestRestartDuringBurst: killing `fargo up` (server and agent) with -9 in
// the middle of a burst, then starting it again, ends with every pod bound
// to its own pod-node, no node without its pod, and no IP given twice.
func TestRestartDuringBurst(t *testing.T) {
	srv := startUp(t, "16", "16Gi")
	cs := srv.Client(t)
	apply(t, srv, burstDeployment("burst", 30))
	testwait.Eventually(t, time.Minute, "some pod-nodes made", func(ctx context.Context) error {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "fargo.dev/host"})
		if err != nil || len(nodes.Items) < 5 {
			return fmt.Errorf("%d nodes (%v)", len(nodes.Items), err)
		}
		return nil
	})
	srv.Kill()
	srv.Start(t)
	cs = srv.Client(t)
	pods := boundPods(t, cs, "study-aews", "app=burst", 30)
	assertNoDoubleBooking(t, cs, pods, map[string]netip.Prefix{"local": netip.MustParsePrefix(srv.PodCIDR)},
		map[string]string{"local": "us-east-1a"})
	testwait.Eventually(t, time.Minute, "pod-nodes match pods", func(ctx context.Context) error {
		return podNodesMatchPods(ctx, cs, "study-aews", "app=burst", 30)
	})
}

// TestAgentRefusesBadTokens: an agent with a token that is malformed, pins
// another CA, or is not the server's exits with an error naming the problem.
func TestAgentRefusesBadTokens(t *testing.T) {
	srv := shared(t)
	token, err := os.ReadFile(srv.DataDir + "/token")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSpace(string(token)), "::")
	otherCA := "sha256:" + strings.Repeat("0", 64)
	cases := []struct{ name, token, want string }{
		{"malformed", "abcdef.0123456789abcdef", "copy the whole line"},
		{"another CA", parts[0] + "::" + otherCA + "::" + parts[2], "not the server the token came from"},
		{"another secret", parts[0] + "::" + parts[1] + "::" + strings.Split(parts[2], ".")[0] + ".zzzzzzzzzzzzzzzz", "rejects join token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runUntilExit(t, nil, "agent", "--server", fmt.Sprintf("https://127.0.0.1:%d", srv.Port), "--token", c.token,
				"--name", "bad-token", "--pod-cidr", "10.44.0.0/24", "--data-dir", t.TempDir())
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("fargo agent: %v, output %q; want a failure naming %q", err, out, c.want)
			}
		})
	}
	if out, _ := fargo(t, srv, "get", "hosts"); strings.Contains(out, "bad-token") {
		t.Errorf("a host with a bad token was registered:\n%s", out)
	}
}
