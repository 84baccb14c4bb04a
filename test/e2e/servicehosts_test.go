package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// game2048 is the walkthrough's 2048 Deployment behind a LoadBalancer
// Service; its pods ask for 2 vCPU, which only host-b has room for.
const game2048 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: game-2048
  namespace: study-aews
spec:
  replicas: 1
  selector:
    matchLabels: {app: game-2048}
  template:
    metadata:
      labels: {app: game-2048}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: alexwhen/docker-2048:latest
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
        ports:
        - {name: http, containerPort: 80}
        resources:
          requests: {cpu: "2", memory: 4Gi}
---
apiVersion: v1
kind: Service
metadata:
  name: game-2048
  namespace: study-aews
spec:
  type: LoadBalancer
  selector: {app: game-2048}
  ports:
  - {port: 8080, targetPort: http}
`

// nodePortSvc asks for what Fargate does not offer.
const nodePortSvc = `apiVersion: v1
kind: Service
metadata:
  name: by-node-port
  namespace: study-aews
spec:
  type: NodePort
  selector: {app: game-2048}
  ports:
  - {port: 80, targetPort: http}
`

// secondLB asks for the port game-2048 already holds on the hosts.
const secondLB = `apiVersion: v1
kind: Service
metadata:
  name: copycat
  namespace: study-aews
spec:
  type: LoadBalancer
  selector: {app: game-2048}
  ports:
  - {port: 8080, targetPort: http}
`

// TestServicesAcrossHosts: with a second host in a network namespace,
// a pod reaches a pod and a Service on the other host; the 2048 game
// behind a LoadBalancer answers on a host's address from a client outside
// the pod network; a second Service asking for its port stays pending
// with an event naming the conflict; pods reach the "internet" through
// NAT but neither host's own services.
func TestServicesAcrossHosts(t *testing.T) {
	ns := harness.NewNetns(t, "fargo-e2e-svc", 8)
	client := harness.NewNetns(t, "fargo-e2e-cli", 9)
	curlBin = harness.BuildGo(t, "testdata/curl")
	registry := fmt.Sprintf("%s:%d", ns.HostIP, harness.FreePort(t))
	srv := harness.NewServer(t, "up", t.TempDir(), "--name", "local", "--cpu", "1", "--memory", "2Gi",
		"--bind-address", "0.0.0.0", "--advertise-address", ns.HostIP, "--registry-address", registry)
	srv.Start(t)
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	srv.ImportImages(t, harness.SeedTarball(t))
	importTestPrograms(t, srv)
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	// The client reaches the hosts' link through this machine.
	if out, err := exec.Command("ip", "-n", client.Name, "route", "add", "10.201.8.0/24", "via", client.HostIP).CombinedOutput(); err != nil {
		t.Fatalf("client route: %v %s", err, out)
	}
	apply(t, srv, studyNamespace)
	// netshoot runs on this machine's host, the only one yet; game-2048's
	// 2 vCPU fit only host-b.
	apply(t, srv, netshoot)
	cs := srv.Client(t)
	shoot := waitPod(t, cs, "netshoot", 2*time.Minute, "running", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	if !netip.MustParsePrefix(srv.PodCIDR).Contains(netip.MustParseAddr(shoot.Status.PodIP)) {
		t.Fatalf("netshoot runs at %s, not on this machine's host", shoot.Status.PodIP)
	}
	agent := harness.NewAgent(t, srv, ns.Name, fmt.Sprintf("https://%s:%d", ns.HostIP, srv.Port), "host-b", t.TempDir(),
		"--pod-cidr", "10.43.8.0/24", "--cpu", "8", "--memory", "16Gi", "--address", ns.IP, "--local-registry", registry)
	agent.Start(t)
	// Before host-b's own cleanup stops it (cleanups run last first).
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	apply(t, srv, game2048)
	waitReadyEndpoints(t, cs, "game-2048", 1)
	game := backendPod(t, cs, "app=game-2048")
	if !netip.MustParsePrefix("10.43.8.0/24").Contains(netip.MustParseAddr(game.Status.PodIP)) {
		t.Fatalf("game-2048 runs at %s, not on host-b", game.Status.PodIP)
	}

	t.Run("pod to pod across hosts", func(t *testing.T) {
		if out, err := inNetshoot(t, srv, "curl "+game.Status.PodIP); err != nil || strings.TrimSpace(out) != game.Name {
			t.Errorf("curl %s from netshoot: %v %q", game.Status.PodIP, err, out)
		}
	})
	t.Run("pod to a Service on the other host", func(t *testing.T) {
		// kube-proxy follows the new endpoint within its 1 s minimum sync.
		testwait.Eventually(t, 30*time.Second, "game-2048:8080 answers from netshoot", func(context.Context) error {
			if out, err := inNetshoot(t, srv, "curl -m 3 game-2048:8080"); err != nil || strings.TrimSpace(out) != game.Name {
				return fmt.Errorf("%v %q", err, out)
			}
			return nil
		})
	})
	t.Run("LoadBalancer from outside", func(t *testing.T) { assertLoadBalancer(t, srv, cs, client, ns, game) })
	t.Run("conflicting LoadBalancer is refused", func(t *testing.T) { assertLBConflict(t, srv, cs, ns.HostIP) })
	t.Run("egress through NAT, hosts fenced", func(t *testing.T) { assertEgressAndFences(t, srv, client, ns, agent) })
}

func backendPod(t *testing.T, cs kubernetes.Interface, selector string) corev1.Pod {
	t.Helper()
	pods, err := cs.CoreV1().Pods("study-aews").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods %s: %v %d", selector, err, len(pods.Items))
	}
	return pods.Items[0]
}

func assertLoadBalancer(t *testing.T, srv *harness.Server, cs kubernetes.Interface, client, hosts *harness.Netns, game corev1.Pod) {
	var ingress []string
	testwait.Eventually(t, time.Minute, "game-2048 gets both hosts' addresses", func(ctx context.Context) error {
		svc, err := cs.CoreV1().Services("study-aews").Get(ctx, "game-2048", metav1.GetOptions{})
		if err != nil {
			return err
		}
		ingress = nil
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ingress = append(ingress, in.IP)
		}
		if strings.Join(ingress, ",") != hosts.HostIP+","+hosts.IP {
			return fmt.Errorf("ingress %v", ingress)
		}
		return nil
	})
	if out := kubectl(t, srv, "get", "svc", "game-2048"); !strings.Contains(out, hosts.HostIP+","+hosts.IP) {
		t.Errorf("kubectl get svc shows no external IPs:\n%s", out)
	}
	for _, ip := range ingress {
		out, err := fromNetns(t, client.Name, "http://"+ip+":8080")
		if err != nil || strings.TrimSpace(string(out)) != game.Name {
			t.Errorf("from the client namespace, http://%s:8080: %v %q", ip, err, out)
		}
	}
}

func assertLBConflict(t *testing.T, srv *harness.Server, cs kubernetes.Interface, hostIP string) {
	apply(t, srv, secondLB)
	apply(t, srv, nodePortSvc)
	waitServiceEvent(t, cs, "copycat", "AllocationFailed", "port 8080/TCP on "+hostIP+" is already used by Service study-aews/game-2048")
	waitServiceEvent(t, cs, "by-node-port", "NodePortNotSupported", "NodePort Services are not supported on Fargate: use type LoadBalancer or ClusterIP")
	svc, err := cs.CoreV1().Services("study-aews").Get(context.Background(), "copycat", metav1.GetOptions{})
	if err != nil || len(svc.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("copycat: %v, ingress %v; want pending", err, svc.Status.LoadBalancer.Ingress)
	}
}

// assertEgressAndFences: the client namespace stands for the internet. A
// pod reaches a server there, which sees this host's address (SNAT); a
// server on this host's address and host-b's kubelet port are out of the
// pod's reach, while the client reaches the former (control).
func assertEgressAndFences(t *testing.T, srv *harness.Server, client, hosts *harness.Netns, agent *harness.Server) {
	internet := serveRemoteAddr(t, client.Name, client.IP)
	if out, err := inNetshoot(t, srv, "curl "+internet); err != nil || strings.TrimSpace(out) != client.HostIP {
		t.Errorf("egress to %s: %v; the server saw %q, want this host's address %s", internet, err, out, client.HostIP)
	}
	hostService := serveRemoteAddr(t, "", hosts.HostIP)
	if out, err := fromNetns(t, client.Name, hostService); err != nil {
		t.Errorf("control: the client cannot reach the host's own service %s: %v %s", hostService, err, out)
	}
	kubeletPort := argAfter(agent.Args, "--kubelet-port")
	if kubeletPort == "" {
		kubeletPort = "10250"
	}
	hostListener := strings.TrimSuffix(strings.TrimPrefix(hostService, "http://"), "/cgi-bin/ip")
	for _, target := range []string{hostListener, hosts.IP + ":" + kubeletPort} {
		if c, err := net.DialTimeout("tcp", target, 3*time.Second); err != nil {
			t.Errorf("control: this machine cannot reach %s: %v", target, err)
		} else {
			c.Close()
		}
		host, port, _ := strings.Cut(target, ":")
		if out, _ := inNetshoot(t, srv, "nc -w 3 "+host+" "+port+" </dev/null && echo CONNECTED"); strings.Contains(out, "CONNECTED") {
			t.Errorf("netshoot reached the host service %s", target)
		}
	}
}

// serveRemoteAddr serves, in network namespace netns ("" for this one),
// on addr, a page that shows the caller's address; it returns the URL.
func serveRemoteAddr(t *testing.T, netns, addr string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$REMOTE_ADDR\"\n"
	if err := os.MkdirAll(filepath.Join(dir, "cgi-bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgi-bin", "ip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("%s:%d", addr, harness.FreePort(t))
	argv := []string{"busybox", "httpd", "-f", "-p", listen, "-h", dir}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + listen + "/cgi-bin/ip"
	testwait.Eventually(t, 10*time.Second, "httpd on "+listen, func(context.Context) error {
		if netns != "" {
			_, err := fromNetns(t, netns, url)
			return err
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	return url
}

// fromNetns fetches url from network namespace netns with testdata/curl.
func fromNetns(t *testing.T, netns, url string) (string, error) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", netns, curlBin, "-m", "5", url).CombinedOutput()
	return string(out), err
}

// curlBin is testdata/curl built for this machine, by TestServicesAcrossHosts.
var curlBin string

// waitServiceEvent waits for an event on Service name with reason and a
// message containing message.
func waitServiceEvent(t *testing.T, cs kubernetes.Interface, name, reason, message string) {
	t.Helper()
	testwait.Eventually(t, time.Minute, fmt.Sprintf("a %s event on %s", reason, name), func(ctx context.Context) error {
		events, err := cs.CoreV1().Events("study-aews").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range events.Items {
			if e.Reason == reason && strings.Contains(e.Message, message) {
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("events: %q", seen)
	})
}
