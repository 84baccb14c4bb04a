package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// seedRootShell is the seeds' pod that Fargate refuses.
const seedRootShell = `apiVersion: v1
kind: Pod
metadata:
  name: root-shell
  namespace: study-aews
spec:
  hostNetwork: true
  hostPID: true
  hostIPC: true
  containers:
  - name: shell
    image: busybox
    command: ["sleep", "infinity"]
    securityContext:
      privileged: true
    volumeMounts:
    - name: hostroot
      mountPath: /host
  volumes:
  - name: hostroot
    hostPath:
      path: /
`

const rootShellMessage = "Pod not supported on Fargate: fields not supported: HostNetwork, HostPID, HostIPC, volumes not supported: hostroot is of an unsupported volume Type, invalid SecurityContext fields: Privileged"

// startUp starts `fargo up` on a fresh data dir whose own host offers
// cpu and memory, with a study-aews profile.
func startUp(t *testing.T, cpu, memory string, extra ...string) *harness.Server {
	t.Helper()
	srv := harness.NewServer(t, "up", t.TempDir(), append([]string{"--name", "local", "--cpu", cpu, "--memory", memory}, extra...)...)
	srv.Start(t)
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	return srv
}

// TestPodNodesFollowPods walks spec section 5 on `fargo up`: one pod-node
// per pod, named and labelled as on EKS, Ready with its Lease, and gone with
// its pod; unsupported pods get the exact event once; a pod too large for
// every host waits until a host with room joins.
func TestPodNodesFollowPods(t *testing.T) {
	srv := startUp(t, "8", "12Gi")
	cs := srv.Client(t)
	ctx := context.Background()
	apply(t, srv, strings.Replace(seedNetshoot, "replicas: 1", "replicas: 5", 1))
	pods := boundPods(t, cs, "study-aews", "app=netshoot", 5)
	k8s, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		assertPodNode(t, cs, p, "us-east-1a", k8s.GitVersion+"-fargo")
	}
	assertWideOutput(t, srv, pods)

	// Scaling to 3 removes exactly the two deleted pods' nodes and Leases.
	if out, err := srv.Kubectl(t, "scale", "-n", "study-aews", "deployment/netshoot", "--replicas", "3"); err != nil {
		t.Fatalf("scale: %v\n%s", err, out)
	}
	testwait.Eventually(t, time.Minute, "3 pod-nodes after scaling to 3", func(ctx context.Context) error {
		return podNodesMatchPods(ctx, cs, "study-aews", "app=netshoot", 3)
	})
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods("study-aews").Get(ctx, p.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			assertGone(t, cs, p.Spec.NodeName)
		}
	}

	t.Run("unsupported pod", func(t *testing.T) { assertRootShellRefused(t, srv, cs) })
	t.Run("daemonset", func(t *testing.T) { assertDaemonSetStaysOff(t, srv, cs) })
	t.Run("too large until a host joins", func(t *testing.T) { assertWaitsForRoom(t, srv, cs) })
}

// boundPods waits for n pods bound to nodes and with their IP.
func boundPods(t *testing.T, cs kubernetes.Interface, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	testwait.Eventually(t, 2*time.Minute, fmt.Sprintf("%d pods bound in %s", n, ns), func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		bound := 0
		for _, p := range list.Items {
			if p.Spec.NodeName != "" && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
				bound++
			}
		}
		if len(list.Items) != n || bound != n {
			return fmt.Errorf("%d pods, %d bound with an IP", len(list.Items), bound)
		}
		pods = list.Items
		return nil
	})
	return pods
}

func assertPodNode(t *testing.T, cs kubernetes.Interface, p corev1.Pod, zone, kubelet string) {
	t.Helper()
	want := "fargate-ip-" + strings.ReplaceAll(p.Status.PodIP, ".", "-") + ".us-east-1.compute.internal"
	if p.Spec.NodeName != want {
		t.Errorf("pod %s with IP %s is on node %q, want %q", p.Name, p.Status.PodIP, p.Spec.NodeName, want)
	}
	if p.Status.HostIP != p.Status.PodIP {
		t.Errorf("pod %s hostIP %s, podIP %s: want the same", p.Name, p.Status.HostIP, p.Status.PodIP)
	}
	var node *corev1.Node
	testwait.Eventually(t, 30*time.Second, "node "+want+" Ready", func(ctx context.Context) error {
		n, err := cs.CoreV1().Nodes().Get(ctx, want, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node = n
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", n.Status.Conditions)
	})
	hostname := strings.TrimPrefix(want, "fargate-")
	labels := map[string]string{
		"eks.amazonaws.com/compute-type": "fargate", "kubernetes.io/hostname": hostname,
		"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
		"topology.kubernetes.io/region": "us-east-1", "topology.kubernetes.io/zone": zone,
		"failure-domain.beta.kubernetes.io/region": "us-east-1", "failure-domain.beta.kubernetes.io/zone": zone,
	}
	for k, v := range labels {
		if node.Labels[k] != v {
			t.Errorf("node %s label %s=%q, want %q", want, k, node.Labels[k], v)
		}
	}
	// The node lifecycle controller may still be lifting a taint of its
	// own from before the node was Ready.
	testwait.Eventually(t, 30*time.Second, "node "+want+" tainted as on EKS only", func(ctx context.Context) error {
		n, err := cs.CoreV1().Nodes().Get(ctx, want, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].ToString() != "eks.amazonaws.com/compute-type=fargate:NoSchedule" {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		return nil
	})
	if pods := node.Status.Capacity[corev1.ResourcePods]; pods.Value() != 1 {
		t.Errorf("node %s capacity pods %s, want 1", want, pods.String())
	}
	if ip := internalIP(node); ip != p.Status.PodIP {
		t.Errorf("node %s InternalIP %s, pod IP %s", want, ip, p.Status.PodIP)
	}
	if node.Status.NodeInfo.KubeletVersion != kubelet || node.Status.NodeInfo.ContainerRuntimeVersion == "" {
		t.Errorf("node %s kubelet %q runtime %q, want kubelet %q", want, node.Status.NodeInfo.KubeletVersion, node.Status.NodeInfo.ContainerRuntimeVersion, kubelet)
	}
	if _, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), want, metav1.GetOptions{}); err != nil {
		t.Errorf("lease of node %s: %v", want, err)
	}
	assertEvent(t, cs, p, "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s", p.Namespace, p.Name, want))
	assertEvent(t, cs, p, "LoggingDisabled", `Disabled logging because aws-logging configmap was not found. configmap "aws-logging" not found`)
}

func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// assertEvent waits for an event on pod with reason and message, from the
// fargate-scheduler, and returns it.
func assertEvent(t *testing.T, cs kubernetes.Interface, p corev1.Pod, reason, message string) corev1.Event {
	t.Helper()
	var found corev1.Event
	testwait.Eventually(t, 30*time.Second, fmt.Sprintf("event %s on %s", reason, p.Name), func(ctx context.Context) error {
		events, err := cs.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.uid": string(p.UID), "reason": reason}.String()})
		if err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Message == message && e.Source.Component == "fargate-scheduler" {
				found = e
				return nil
			}
		}
		return fmt.Errorf("events %v", events.Items)
	})
	return found
}

// assertWideOutput: `kubectl get pod -o wide` shows each pod on its own
// node, with the IP that names the node.
func assertWideOutput(t *testing.T, srv *harness.Server, pods []corev1.Pod) {
	t.Helper()
	out, err := srv.Kubectl(t, "get", "pod", "-n", "study-aews", "-o", "wide", "--no-headers")
	if err != nil {
		t.Fatalf("get pod -o wide: %v\n%s", err, out)
	}
	for _, p := range pods {
		want := []string{p.Name, p.Status.PodIP, p.Spec.NodeName}
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 6 && f[0] == want[0] && f[5] == want[1] && f[6] == want[2] {
				found = true
			}
		}
		if !found {
			t.Errorf("kubectl get pod -o wide has no row %v:\n%s", want, out)
		}
	}
}

// podNodesMatchPods is true when the pods of selector are n, each bound to
// its own pod-node, and no other pod-node is left.
func podNodesMatchPods(ctx context.Context, cs kubernetes.Interface, ns, selector string, n int) error {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "eks.amazonaws.com/compute-type=fargate"})
	if err != nil {
		return err
	}
	byName := map[string]corev1.Node{}
	for _, node := range nodes.Items {
		byName[node.Name] = node
	}
	if len(pods.Items) != n || len(nodes.Items) != n {
		return fmt.Errorf("%d pods and %d pod-nodes, want %d of each", len(pods.Items), len(nodes.Items), n)
	}
	for _, p := range pods.Items {
		node, ok := byName[p.Spec.NodeName]
		if !ok || node.Annotations["fargo.dev/pod-uid"] != string(p.UID) {
			return fmt.Errorf("pod %s on node %q, which is not its own pod-node", p.Name, p.Spec.NodeName)
		}
	}
	return nil
}

func assertGone(t *testing.T, cs kubernetes.Interface, node string) {
	t.Helper()
	testwait.Eventually(t, 30*time.Second, "node and lease "+node+" gone", func(ctx context.Context) error {
		if _, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("node: %v", err)
		}
		if _, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("lease: %v", err)
		}
		return nil
	})
}

func assertRootShellRefused(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, seedRootShell)
	p, err := cs.CoreV1().Pods("study-aews").Get(context.Background(), "root-shell", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := assertEvent(t, cs, *p, "FailedScheduling", rootShellMessage)
	if e.Type != corev1.EventTypeWarning {
		t.Errorf("event type %s, want Warning", e.Type)
	}
	// No retry storm: the event is not repeated while the pod is unchanged.
	// The scheduler has handled the status it wrote once it has refused
	// pods created after it (see refuseFences).
	refuseFences(t, srv, cs)
	events, err := cs.CoreV1().Events("study-aews").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=root-shell"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Reason == "FailedScheduling" && e.Count > 1 {
			t.Errorf("FailedScheduling repeated %d times for an unchanged pod", e.Count)
		}
	}
	p, _ = cs.CoreV1().Pods("study-aews").Get(context.Background(), "root-shell", metav1.GetOptions{})
	if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
		t.Errorf("root-shell is on %q in phase %s, want Pending and unbound", p.Spec.NodeName, p.Status.Phase)
	}
}

// refuseFences creates two more root-shell pods, one after the other, and
// waits for each one's FailedScheduling event. The scheduler takes the
// oldest waiting pod first, so it decides each after every pod changed
// before it, and its events go out in the order recorded. Two, because the
// first may overtake a pod whose update came while the scheduler was still
// busy with it. The fences are deleted at the end.
func refuseFences(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	t.Helper()
	for i := range 2 {
		name := fmt.Sprintf("root-shell-fence-%d", i)
		apply(t, srv, strings.Replace(seedRootShell, "name: root-shell", "name: "+name, 1))
		t.Cleanup(func() {
			_ = cs.CoreV1().Pods("study-aews").Delete(context.Background(), name, metav1.DeleteOptions{})
		})
		p, err := cs.CoreV1().Pods("study-aews").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		assertEvent(t, cs, *p, "FailedScheduling", rootShellMessage)
	}
}

// assertDaemonSetStaysOff: the pod-nodes' taint keeps DaemonSet pods off.
func assertDaemonSetStaysOff(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	// Without a pod-node there would be nothing to keep the pods off.
	nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "eks.amazonaws.com/compute-type=fargate"})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("no pod-node to test the DaemonSet on: %v", err)
	}
	apply(t, srv, `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
  namespace: default
spec:
  selector:
    matchLabels: {app: node-exporter}
  template:
    metadata:
      labels: {app: node-exporter}
    spec:
      containers:
      - name: c
        image: busybox
`)
	// The DaemonSet controller writes the status of a generation after the
	// sync that created that generation's pods, counting the nodes it
	// knows: once the generation is observed, its pods exist.
	var ds *appsv1.DaemonSet
	testwait.Eventually(t, 30*time.Second, "DaemonSet status observed", func(ctx context.Context) error {
		var err error
		if ds, err = cs.AppsV1().DaemonSets("default").Get(ctx, "node-exporter", metav1.GetOptions{}); err != nil {
			return err
		}
		if ds.Status.ObservedGeneration < ds.Generation {
			return fmt.Errorf("generation %d not observed", ds.Generation)
		}
		return nil
	})
	pods, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=node-exporter"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Status.DesiredNumberScheduled != 0 || len(pods.Items) != 0 {
		t.Errorf("DaemonSet wants %d pods and has %d on a cluster of pod-nodes only", ds.Status.DesiredNumberScheduled, len(pods.Items))
	}
}

// assertWaitsForRoom: a pod larger than every host gets the timed-out
// event, and is placed once a host with room joins.
func assertWaitsForRoom(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, `apiVersion: v1
kind: Pod
metadata:
  name: big
  namespace: study-aews
spec:
  containers:
  - name: c
    image: busybox
    resources:
      requests: {cpu: "4", memory: 20Gi}
`)
	p, err := cs.CoreV1().Pods("study-aews").Get(context.Background(), "big", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertEvent(t, cs, *p, "FailedScheduling", "Pod provisioning timed out (will retry)")

	agent := harness.NewAgent(t, srv, "", fmt.Sprintf("https://127.0.0.1:%d", srv.Port), "big", t.TempDir(),
		"--cpu", "16", "--memory", "64Gi", "--pod-cidr", "10.43.0.0/24", "--zone", "us-east-1b")
	agent.Start(t)
	testwait.Eventually(t, time.Minute, "big placed on host big", func(ctx context.Context) error {
		p, err := cs.CoreV1().Pods("study-aews").Get(ctx, "big", metav1.GetOptions{})
		if err != nil || p.Spec.NodeName == "" || p.Status.PodIP == "" {
			return fmt.Errorf("pod %v: %v", p.Spec.NodeName, err)
		}
		if !netip.MustParsePrefix("10.43.0.0/24").Contains(netip.MustParseAddr(p.Status.PodIP)) {
			return fmt.Errorf("big got IP %s outside host big's 10.43.0.0/24", p.Status.PodIP)
		}
		return nil
	})
	out := mustFargo(t, srv, "get", "hosts")
	for _, want := range []string{"local", "big", "us-east-1b", "10.43.0.0/24"} {
		if !strings.Contains(out, want) {
			t.Errorf("fargo get hosts lacks %q:\n%s", want, out)
		}
	}
}
