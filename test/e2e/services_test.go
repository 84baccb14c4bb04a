package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// sampleApp is the walkthrough's nginx sample: a Deployment of 2 behind
// the ClusterIP Service sample-app. Each backend serves its own name on
// the named port http, and is ready while /tmp/unready does not exist.
const sampleApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: sample-app
  namespace: study-aews
spec:
  replicas: 2
  selector:
    matchLabels: {app: sample-app}
  template:
    metadata:
      labels: {app: sample-app}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: nginx:latest
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
        ports:
        - {name: http, containerPort: 80}
        readinessProbe:
          exec: {command: ["sh", "-c", "test ! -f /tmp/unready"]}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata:
  name: sample-app
  namespace: study-aews
spec:
  selector: {app: sample-app}
  ports:
  - {name: web, port: 80, targetPort: http}
  - {name: alt, port: 8080, targetPort: http}
`

// netshoot is the pod the walkthrough curls from.
const netshoot = `apiVersion: v1
kind: Pod
metadata:
  name: netshoot
  namespace: study-aews
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: netshoot
    image: nicolaka/netshoot:latest
    command: ["sleep", "3600"]
`

// TestServices walks the sample-app walkthrough from a pod: the Service by
// name and FQDN reaches both ready backends, a backend failing readiness
// gets no traffic, scaling to 0 refuses at once; an in-cluster client
// reaches the apiserver through the kubernetes Service; cluster DNS
// answers; and the pod cannot reach the host's own services.
func TestServices(t *testing.T) { runServiceSuite(t) }

// runServiceSuite is TestServices on a cluster started with extra flags
// (another sandbox tier).
func runServiceSuite(t *testing.T, extra ...string) {
	// The apiserver listens beyond loopback, where the kubernetes Service
	// leads; the traffic stays on this machine.
	// Cluster DNS forwards other names to a resolver of the test's own.
	upstream := serveOutsideDNS(t)
	srv := harness.NewServer(t, "up", t.TempDir(), append([]string{"--name", "local", "--cpu", "8", "--memory", "16Gi", "--bind-address", "0.0.0.0",
		"--dns-upstream", upstream}, extra...)...)
	srv.Start(t)
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	srv.ImportImages(t, harness.SeedTarball(t))
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	apply(t, srv, studyNamespace)
	cs := srv.Client(t)
	importTestPrograms(t, srv)
	apply(t, srv, sampleApp)
	apply(t, srv, netshoot)
	waitPod(t, cs, "netshoot", 2*time.Minute, "running", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	waitReadyEndpoints(t, cs, "sample-app", 2)

	t.Run("curl sample-app reaches both backends", func(t *testing.T) { assertBothBackends(t, srv, cs) })
	t.Run("session affinity", func(t *testing.T) { assertSessionAffinity(t, srv, cs) })
	t.Run("an unready backend gets no traffic", func(t *testing.T) { assertUnreadyGetsNothing(t, srv, cs) })
	t.Run("in-cluster client", func(t *testing.T) { assertInClusterClient(t, srv, cs) })
	t.Run("cluster DNS", func(t *testing.T) { assertClusterDNS(t, srv, cs) })
	t.Run("host services are fenced", func(t *testing.T) { assertHostFenced(t, srv) })
	t.Run("scaled to 0 refuses at once", func(t *testing.T) { assertNoEndpointsRefuses(t, srv, cs) })
}

// importTestPrograms imports the netshoot stand-in with a curl and a dig
// that resolve names as libc does (testdata/curl, testdata/dig), and the
// in-cluster client image.
func importTestPrograms(t *testing.T, srv *harness.Server) {
	t.Helper()
	dir := t.TempDir()
	netshootTar, inclusterTar := filepath.Join(dir, "netshoot.tar"), filepath.Join(dir, "incluster.tar")
	harness.WriteGoImageTarball(t, netshootTar, "nicolaka/netshoot:latest", "testdata/curl", "testdata/dig")
	harness.WriteGoImageTarball(t, inclusterTar, "incluster:latest", "testdata/incluster")
	srv.ImportImages(t, netshootTar, inclusterTar)
}

// inNetshoot runs a shell command in the netshoot pod.
func inNetshoot(t *testing.T, srv *harness.Server, command string) (string, error) {
	t.Helper()
	return srv.Kubectl(t, "-n", "study-aews", "exec", "netshoot", "--", "sh", "-c", command)
}

func waitReadyEndpoints(t *testing.T, cs kubernetes.Interface, service string, n int) {
	t.Helper()
	testwait.Eventually(t, 2*time.Minute, fmt.Sprintf("%d ready endpoints of %s", n, service), func(ctx context.Context) error {
		slices, err := cs.DiscoveryV1().EndpointSlices("study-aews").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
		if err != nil {
			return err
		}
		ready := 0
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		if ready != n {
			return fmt.Errorf("%d ready", ready)
		}
		return nil
	})
}

func backendNames(t *testing.T, cs kubernetes.Interface) []string {
	t.Helper()
	pods, err := cs.CoreV1().Pods("study-aews").List(context.Background(), metav1.ListOptions{LabelSelector: "app=sample-app"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	return names
}

// curlMany fetches url n times from netshoot and counts the answers.
func curlMany(t *testing.T, srv *harness.Server, url string, n int) map[string]int {
	t.Helper()
	out, err := inNetshoot(t, srv, fmt.Sprintf("for i in $(seq %d); do curl -m 3 %s || echo FAILED; done", n, url))
	if err != nil {
		t.Fatalf("wget %s from netshoot: %v\n%s", url, err, out)
	}
	seen := map[string]int{}
	for _, line := range strings.Fields(out) {
		seen[line]++
	}
	return seen
}

func assertBothBackends(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	backends := backendNames(t, cs)
	svc, err := cs.CoreV1().Services("study-aews").Get(context.Background(), "sample-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// kube-proxy follows the EndpointSlice within its 1 s minimum sync.
	testwait.Eventually(t, 30*time.Second, "sample-app answers at its ClusterIP", func(context.Context) error {
		_, err := inNetshoot(t, srv, "curl -m 2 "+svc.Spec.ClusterIP)
		return err
	})
	for _, url := range []string{svc.Spec.ClusterIP, svc.Spec.ClusterIP + ":8080", "sample-app", "sample-app.study-aews", "sample-app.study-aews.svc.cluster.local"} {
		seen := curlMany(t, srv, url, 30)
		for _, b := range backends {
			if seen[b] == 0 {
				t.Errorf("curl %s: backend %s never answered; answers: %v", url, b, seen)
			}
		}
		if seen["FAILED"] > 0 {
			t.Fatalf("curl %s: %d of 30 failed: %v", url, seen["FAILED"], seen)
		}
	}
}

// stickySampleApp is sample-app again with ClientIP session affinity.
const stickySampleApp = `apiVersion: v1
kind: Service
metadata:
  name: sample-sticky
  namespace: study-aews
spec:
  selector: {app: sample-app}
  sessionAffinity: ClientIP
  ports:
  - {port: 80, targetPort: http}
`

func assertSessionAffinity(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, stickySampleApp)
	waitReadyEndpoints(t, cs, "sample-sticky", 2)
	svc, err := cs.CoreV1().Services("study-aews").Get(context.Background(), "sample-sticky", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// kube-proxy programs the new Service within its 1 s minimum sync.
	testwait.Eventually(t, 30*time.Second, "sample-sticky answers", func(context.Context) error {
		_, err := inNetshoot(t, srv, "curl -m 2 "+svc.Spec.ClusterIP)
		return err
	})
	if seen := curlMany(t, srv, svc.Spec.ClusterIP, 20); len(seen) != 1 {
		t.Errorf("with ClientIP affinity, one client reached %v; want one backend", seen)
	}
}

func assertUnreadyGetsNothing(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	backends := backendNames(t, cs)
	unready, other := backends[0], backends[1]
	kubectl(t, srv, "exec", unready, "--", "touch", "/tmp/unready")
	waitReadyEndpoints(t, cs, "sample-app", 1)
	testwait.Eventually(t, 30*time.Second, "kube-proxy drops "+unready, func(context.Context) error {
		if seen := curlMany(t, srv, "sample-app", 5); seen[unready] > 0 {
			return fmt.Errorf("answers %v", seen)
		}
		return nil
	})
	seen := curlMany(t, srv, "sample-app", 20)
	if seen[unready] != 0 || seen[other] != 20 {
		t.Errorf("with %s unready, answers were %v; want all 20 from %s", unready, seen, other)
	}
	kubectl(t, srv, "exec", unready, "--", "rm", "/tmp/unready")
	waitReadyEndpoints(t, cs, "sample-app", 2)
}

func assertInClusterClient(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, strings.Replace(podManifest("incluster", "Never", "incluster", ""), "image: busybox", "image: incluster:latest", 1))
	pod := waitPod(t, cs, "incluster", 2*time.Minute, "finished", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return fmt.Errorf("still %s", p.Status.Phase)
		}
		return nil
	})
	out := kubectl(t, srv, "logs", "incluster")
	want := regexp.MustCompile(`^v1\.36\.\S* as system:serviceaccount:study-aews:default via https://172\.20\.0\.1:443\n$`)
	if pod.Status.Phase != corev1.PodSucceeded || !want.MatchString(out) {
		t.Errorf("in-cluster client: phase %s, output %q; want a line matching %s", pod.Status.Phase, out, want)
	}
}

// sampleHeadless is sample-app as a headless Service, with a named port.
const sampleHeadless = `apiVersion: v1
kind: Service
metadata:
  name: sample-headless
  namespace: study-aews
spec:
  clusterIP: None
  selector: {app: sample-app}
  ports:
  - {name: web, port: 80, targetPort: http}
`

func assertClusterDNS(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, sampleHeadless)
	waitReadyEndpoints(t, cs, "sample-headless", 2)
	svc, err := cs.CoreV1().Services("study-aews").Get(context.Background(), "sample-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cs.CoreV1().Pods("study-aews").List(context.Background(), metav1.ListOptions{LabelSelector: "app=sample-app"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"kubernetes.default", []string{"172.20.0.1"}},
		{"sample-app", []string{svc.Spec.ClusterIP}},
		{"sample-app.study-aews.svc.cluster.local", []string{svc.Spec.ClusterIP}},
		{"sample-headless", []string{pods.Items[0].Status.PodIP, pods.Items[1].Status.PodIP}},
		{"-t SRV _web._tcp.sample-app.study-aews.svc.cluster.local", []string{"80 sample-app.study-aews.svc.cluster.local."}},
		{"10-42-9-9.study-aews.pod.cluster.local", []string{"10.42.9.9"}},
		{"outside.example", []string{outsideAddress}},
	} {
		out, err := inNetshoot(t, srv, "dig "+c.query)
		for _, want := range c.want {
			if err != nil || !strings.Contains(out, want) {
				t.Errorf("dig %s: %v\n%s\nwant %s", c.query, err, out, want)
			}
		}
	}
}

// outsideAddress is what the test's own resolver answers for every name.
const outsideAddress = "203.0.113.7"

// serveOutsideDNS answers A queries for outside.example on loopback and
// returns its address, standing for the host's resolvers.
func serveOutsideDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; q.Name == "outside.example." && q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.ParseIP(outsideAddress)})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	server := &dns.Server{PacketConn: pc, Handler: handler}
	go server.ActivateAndServe()
	t.Cleanup(func() { server.Shutdown() })
	return pc.LocalAddr().String()
}

// assertHostFenced: the host's services (the apiserver's own port, the
// kubelet API port, anything on the gateway) are out of reach; only the
// kubernetes Service leads to the apiserver.
func assertHostFenced(t *testing.T, srv *harness.Server) {
	gateway := netip.MustParsePrefix(srv.PodCIDR).Addr().Next().String()
	for _, target := range []string{
		fmt.Sprintf("%s %d", gateway, srv.Port),
		"169.254.169.254 80",
	} {
		out, err := inNetshoot(t, srv, "nc -w 2 "+target+" </dev/null && echo CONNECTED")
		if strings.Contains(out, "CONNECTED") {
			t.Errorf("netshoot reached %s: %v %s", target, err, out)
		}
	}
	out, err := inNetshoot(t, srv, "nc -w 2 172.20.0.1 443 </dev/null && echo CONNECTED")
	if !strings.Contains(out, "CONNECTED") {
		t.Errorf("netshoot cannot reach the kubernetes Service 172.20.0.1:443 (control): %v %s", err, out)
	}
}

func assertNoEndpointsRefuses(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	kubectl(t, srv, "scale", "deployment/sample-app", "--replicas", "0")
	waitReadyEndpoints(t, cs, "sample-app", 0)
	// Terminating backends may answer until kube-proxy's next sync; then
	// a request must be refused, not time out (a hang ends in curl's
	// timeout, which never says refused).
	testwait.Eventually(t, 30*time.Second, "sample-app refuses with no endpoints", func(context.Context) error {
		out, _ := inNetshoot(t, srv, "curl -m 10 sample-app 2>&1")
		if !strings.Contains(out, "connection refused") {
			return fmt.Errorf("curl said %q", out)
		}
		return nil
	})
}
