package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// Issue 17: pod start on fargo's pod-nodes against the node a Kubernetes
// user would otherwise run, side by side on one `fargo up`.

const (
	// sideBySideSeq is how many pods each side starts one at a time.
	sideBySideSeq = 30
	// memorySettle is how long the pods of a burst idle before the host's
	// memory is read, so that neither side is read mid-start.
	memorySettle = 20 * time.Second
)

// sideBySideBursts are the burst sizes; memory is read at the last.
var sideBySideBursts = []int{20, 100}

// podSide is one kind of node a pod can start on.
type podSide struct {
	name string
	ns   string
	pod  func(name string) *corev1.Pod
	// sandboxes counts the side's per-pod host processes (shims, pause).
	sandboxes func() int
}

// BenchmarkStockNodeSideBySide starts the same busybox pods, image cached
// on both, on fargo's pod-nodes (namespace start, Fargate profile) and on
// a stock node (upstream kubelet, Debian's containerd 1.6 and runc, CNI
// bridge) joined to the same `fargo up`, in the same run: create-to-Ready
// of 30 sequential pods each (alternating sides), bursts of 20 and 100 to
// all Ready, and the host memory each idle pod costs. Ratios are
// stock/fargo: above 1, fargo is faster or smaller. The stock pods name
// their node (no scheduler runs for them); fargo's go through fargo's
// admission and scheduler, as on EKS.
func BenchmarkStockNodeSideBySide(b *testing.B) {
	bins := requireStockNode(b)
	srv, cs := podStartCluster(b)
	ctx := context.Background()
	node := startStockNode(ctx, b, srv, cs, bins)
	// fargo-shim processes that are no pod's (none so far) stay out of the count.
	fargoShims := func() int { _, _, n := sandboxMemoryKiB(); return n }
	idleShims := fargoShims()
	fargo := podSide{name: "fargo", ns: "start",
		pod:       func(name string) *corev1.Pod { return sideBySidePod("start", name, "") },
		sandboxes: func() int { return fargoShims() - idleShims }}
	stock := podSide{name: "stock", ns: stockNamespace,
		pod:       func(name string) *corev1.Pod { return sideBySidePod(stockNamespace, name, node.name) },
		sandboxes: func() int { return len(node.shimPids()) }}
	table := &sideBySideTable{}
	for b.Loop() {
		f, s := sequentialPairs(ctx, b, cs, fargo, stock)
		table.add(b, "start-p50", "ms", ms(percentile(f, 50)), ms(percentile(s, 50)))
		table.add(b, "start-p99", "ms", ms(percentile(f, 99)), ms(percentile(s, 99)))
		for _, n := range sideBySideBursts[:len(sideBySideBursts)-1] {
			table.add(b, fmt.Sprintf("burst-%d", n), "s", sideBurst(ctx, b, cs, fargo, n).Seconds(), sideBurst(ctx, b, cs, stock, n).Seconds())
		}
		n := sideBySideBursts[len(sideBySideBursts)-1]
		fElapsed, fMem := burstWithMemory(ctx, b, cs, fargo, n, srv, node)
		sElapsed, sMem := burstWithMemory(ctx, b, cs, stock, n, srv, node)
		table.add(b, fmt.Sprintf("burst-%d", n), "s", fElapsed.Seconds(), sElapsed.Seconds())
		table.add(b, "per-pod", "MiB", fMem.perPodMiB(n), sMem.perPodMiB(n))
		table.add(b, "sandbox-per-pod", "MiB", fMem.sandboxPerPodMiB(n), sMem.sandboxPerPodMiB(n))
		// Parts, not compared: fargo up holds fargo's host agent too.
		table.part(b, "fargo-up-per-pod", "MiB", fMem.fargoUpPerPodMiB(n), sMem.fargoUpPerPodMiB(n))
		table.part(b, "daemons-per-pod", "MiB", 0, sMem.daemonsPerPodMiB(n))
	}
	b.Logf("stock node: kubelet %s, containerd %s, pod range %s; %s\n%s",
		embeddedKubernetes(b), containerdVersion(bins), node.podCIDR, node.logErrors(), table)
}

// sideBySidePod is BenchmarkPodStart's idle busybox pod in ns, on node
// when one is given. IfNotPresent on both sides: the image is cached on
// both, and the stock node has no registry to resolve "latest" against.
func sideBySidePod(ns, name, node string) *corev1.Pod {
	p := idlePod(name, "busybox")
	p.Namespace = ns
	p.Spec.NodeName = node
	p.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	return p
}

// sequentialPairs starts sideBySideSeq pods on each side one at a time,
// alternating which side goes first, so that drift over the run (caches,
// etcd size) falls on both alike; then deletes them.
func sequentialPairs(ctx context.Context, b *testing.B, cs kubernetes.Interface, fargo, stock podSide) (f, s []time.Duration) {
	for i := range sideBySideSeq {
		first, second, fl, sl := fargo, stock, &f, &s
		if i%2 == 1 {
			first, second, fl, sl = stock, fargo, &s, &f
		}
		*fl = append(*fl, startPod(ctx, b, cs, first.pod(fmt.Sprintf("seq-%d", i))))
		*sl = append(*sl, startPod(ctx, b, cs, second.pod(fmt.Sprintf("seq-%d", i))))
	}
	settleSide(ctx, b, cs, fargo)
	settleSide(ctx, b, cs, stock)
	return f, s
}

// sideBurst starts n pods on one side at once and returns the time to all
// Ready; then deletes them.
func sideBurst(ctx context.Context, b *testing.B, cs kubernetes.Interface, s podSide, n int) time.Duration {
	elapsed := burstIn(ctx, b, cs, s.ns, n, s.pod)
	settleSide(ctx, b, cs, s)
	return elapsed
}

// burstWithMemory is sideBurst, with the host's memory read before and
// memorySettle after all are Ready.
func burstWithMemory(ctx context.Context, b *testing.B, cs kubernetes.Interface, s podSide, n int, srv *harness.Server, node *stockNode) (time.Duration, memoryDelta) {
	before := readHostMemory(srv, node)
	elapsed := burstIn(ctx, b, cs, s.ns, n, s.pod)
	time.Sleep(memorySettle)
	after := readHostMemory(srv, node)
	b.Logf("%s: %d pods Ready in %v; %d sandbox processes at the memory reading", s.name, n, elapsed.Round(time.Millisecond), s.sandboxes())
	settleSide(ctx, b, cs, s)
	return elapsed, after.since(before, s.name)
}

// settleSide deletes a side's pods and waits until its per-pod processes are
// gone too, so that one measure's teardown never overlaps the next.
func settleSide(ctx context.Context, b *testing.B, cs kubernetes.Interface, s podSide) {
	deleteAllIn(ctx, b, cs, s.ns)
	deadline := time.Now().Add(2 * time.Minute)
	for s.sandboxes() > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d sandbox processes left 2 minutes after its pods were deleted", s.name, s.sandboxes())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the daemons' own cleanup after the last exit
}

// sideBySideTable reports each measure of both sides and their ratio, and
// prints as a table.
type sideBySideTable struct{ rows []string }

func (t *sideBySideTable) add(b *testing.B, measure, unit string, fargo, stock float64) {
	b.ReportMetric(fargo, "fargo-"+measure+"-"+unit)
	b.ReportMetric(stock, "stock-"+measure+"-"+unit)
	ratio := stock / fargo
	b.ReportMetric(ratio, "ratio-"+measure)
	t.rows = append(t.rows, fmt.Sprintf("| %s | %.2f %s | %.2f %s | %.2f |", measure, fargo, unit, stock, unit, ratio))
}

// part reports a component of a measure whose two sides do not compare.
func (t *sideBySideTable) part(b *testing.B, measure, unit string, fargo, stock float64) {
	b.ReportMetric(fargo, "fargo-"+measure+"-"+unit)
	b.ReportMetric(stock, "stock-"+measure+"-"+unit)
	t.rows = append(t.rows, fmt.Sprintf("| %s | %.2f %s | %.2f %s | |", measure, fargo, unit, stock, unit))
}

func (t *sideBySideTable) String() string {
	return "| measure | fargo | stock | stock/fargo |\n|---|---|---|---|\n" + strings.Join(t.rows, "\n")
}
