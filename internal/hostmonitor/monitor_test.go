package hostmonitor

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const leaseDuration = 40 * time.Second

func newDynamic() *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{hostclient.GVR: "HostList"})
}

// storedHost creates h with the agent's nodeInfo and returns it as read back.
func storedHost(t *testing.T, hosts *hostclient.Client, h *v1.Host) *v1.Host {
	t.Helper()
	h.Status.NodeInfo.KubeletVersion = "v1.36.3-fargo"
	got, err := hosts.Create(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func heartbeat(host string, renewed *time.Time) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: v1.SystemNamespace, Name: v1.HostLeaseName(host)}}
	if renewed != nil {
		l.Spec.RenewTime = &metav1.MicroTime{Time: *renewed}
	}
	return l
}

// statusWrites counts the UpdateStatus calls dyn received.
func statusWrites(dyn *dynamicfake.FakeDynamicClient) int {
	n := 0
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "update" && a.GetSubresource() == "status" {
			n++
		}
	}
	return n
}

func ready(status metav1.ConditionStatus, reason, message string, gen int64) []metav1.Condition {
	return []metav1.Condition{{Type: v1.HostReady, Status: status, Reason: reason, Message: message,
		ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))}}
}

func TestSync(t *testing.T) {
	const fresh, stopped = v1.HostReasonHeartbeat, v1.HostReasonHeartbeatStopped
	const freshMsg = "the host agent renews its heartbeat Lease"
	stoppedMsg := "no heartbeat since 2026-11-23T12:00:00Z (lease expires after 40s)"
	renewed := t0
	cases := []struct {
		name        string
		lease       *coordinationv1.Lease // nil: none
		generation  int64
		conditions  []metav1.Condition
		now         time.Time
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string // "" skips the check
		wantWrites  int
		wantRecheck time.Duration
	}{
		{name: "fresh, first look", lease: heartbeat("h1", &renewed), now: t0.Add(10 * time.Second),
			wantStatus: "True", wantReason: fresh, wantMessage: freshMsg, wantWrites: 1, wantRecheck: 30 * time.Second},
		{name: "fresh, already Ready", lease: heartbeat("h1", &renewed), now: t0.Add(10 * time.Second),
			conditions: ready("True", fresh, freshMsg, 1),
			wantStatus: "True", wantReason: fresh, wantWrites: 0, wantRecheck: 30 * time.Second},
		{name: "fresh, spec changed since", lease: heartbeat("h1", &renewed), now: t0.Add(10 * time.Second), generation: 2,
			conditions: ready("True", fresh, freshMsg, 1),
			wantStatus: "True", wantReason: fresh, wantWrites: 1, wantRecheck: 30 * time.Second},
		{name: "about to expire", lease: heartbeat("h1", &renewed), now: t0.Add(leaseDuration - time.Millisecond),
			wantStatus: "True", wantReason: fresh, wantWrites: 1, wantRecheck: minRecheck},
		{name: "expires now", lease: heartbeat("h1", &renewed), now: t0.Add(leaseDuration),
			conditions: ready("True", fresh, freshMsg, 1),
			wantStatus: "False", wantReason: stopped, wantMessage: stoppedMsg, wantWrites: 1},
		{name: "expired long ago, already not Ready", lease: heartbeat("h1", &renewed), now: t0.Add(time.Hour),
			conditions: ready("False", stopped, stoppedMsg, 1),
			wantStatus: "False", wantReason: stopped, wantWrites: 0},
		{name: "no lease", now: t0,
			wantStatus: "False", wantReason: stopped, wantMessage: "no heartbeat yet (no Lease fargo-system/host-h1): is fargo agent running on this host?", wantWrites: 1},
		{name: "lease never renewed", lease: heartbeat("h1", nil), now: t0,
			conditions: ready("True", fresh, freshMsg, 1),
			wantStatus: "False", wantReason: stopped, wantWrites: 1},
		{name: "lease of another host", lease: heartbeat("h2", &renewed), now: t0.Add(time.Second),
			wantStatus: "False", wantReason: stopped, wantWrites: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dyn := newDynamic()
			hosts := hostclient.New(dyn)
			h := storedHost(t, hosts, &v1.Host{
				ObjectMeta: metav1.ObjectMeta{Name: "h1", Generation: max(c.generation, 1)},
				Status:     v1.HostStatus{Conditions: c.conditions},
			})
			m := New(hosts, leaseDuration, func() time.Time { return c.now })
			m.hostStore, m.leaseStore = cache.NewStore(cache.MetaNamespaceKeyFunc), cache.NewStore(cache.MetaNamespaceKeyFunc)
			must(t, m.hostStore.Add(h))
			if c.lease != nil {
				must(t, m.leaseStore.Add(c.lease))
			}
			dyn.ClearActions()

			recheck, err := m.sync(context.Background(), "h1")
			if err != nil {
				t.Fatal(err)
			}
			if recheck != c.wantRecheck {
				t.Errorf("recheck in %v, want %v", recheck, c.wantRecheck)
			}
			if n := statusWrites(dyn); n != c.wantWrites {
				t.Errorf("%d status writes, want %d", n, c.wantWrites)
			}
			got, err := hosts.Get(context.Background(), "h1")
			if err != nil {
				t.Fatal(err)
			}
			checkReady(t, got, c.wantStatus, c.wantReason, c.wantMessage)
			if cond := meta.FindStatusCondition(got.Status.Conditions, v1.HostReady); c.wantWrites > 0 && cond.ObservedGeneration != got.Generation {
				t.Errorf("observedGeneration %d, want %d", cond.ObservedGeneration, got.Generation)
			}
		})
	}
}

func checkReady(t *testing.T, h *v1.Host, status metav1.ConditionStatus, reason, message string) {
	t.Helper()
	c := meta.FindStatusCondition(h.Status.Conditions, v1.HostReady)
	if c == nil || c.Status != status || c.Reason != reason || (message != "" && c.Message != message) {
		t.Fatalf("Ready condition %+v, want %s %s %q", c, status, reason, message)
	}
	if h.Status.NodeInfo.KubeletVersion != "v1.36.3-fargo" {
		t.Fatalf("status.nodeInfo lost: %+v", h.Status.NodeInfo)
	}
}

// TestWriteKeepsAgentStatus has the agent write status.nodeInfo after the
// monitor's informer saw the host, and the first write conflict.
func TestWriteKeepsAgentStatus(t *testing.T) {
	ctx := context.Background()
	dyn := newDynamic()
	hosts := hostclient.New(dyn)
	stale := storedHost(t, hosts, &v1.Host{ObjectMeta: metav1.ObjectMeta{Name: "h1"}})
	agent := stale.DeepCopy()
	agent.Status.NodeInfo.KernelVersion = "6.12.0"
	if _, err := hosts.UpdateStatus(ctx, agent); err != nil {
		t.Fatal(err)
	}
	conflicts := 0
	dyn.PrependReactor("update", "hosts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && conflicts == 0 {
			conflicts++
			return true, nil, apierrors.NewConflict(hostclient.GVR.GroupResource(), "h1", nil)
		}
		return false, nil, nil
	})
	m := New(hosts, leaseDuration, func() time.Time { return t0 })
	m.hostStore, m.leaseStore = cache.NewStore(cache.MetaNamespaceKeyFunc), cache.NewStore(cache.MetaNamespaceKeyFunc)
	must(t, m.hostStore.Add(stale))
	renewed := t0
	must(t, m.leaseStore.Add(heartbeat("h1", &renewed)))

	if _, err := m.sync(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	got, err := hosts.Get(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if conflicts != 1 {
		t.Fatalf("%d conflicts, want the first write to conflict", conflicts)
	}
	checkReady(t, got, metav1.ConditionTrue, v1.HostReasonHeartbeat, "")
	if got.Status.NodeInfo.KernelVersion != "6.12.0" {
		t.Fatalf("the agent's status.nodeInfo was overwritten: %+v", got.Status.NodeInfo)
	}
}

func TestEnqueueLease(t *testing.T) {
	lease := func(ns, name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	cases := []struct {
		name string
		obj  any
		want string // "" queues nothing
	}{
		{"heartbeat", lease(v1.SystemNamespace, "host-h1"), "h1"},
		{"deleted heartbeat", cache.DeletedFinalStateUnknown{Key: v1.SystemNamespace + "/host-h1", Obj: lease(v1.SystemNamespace, "host-h1")}, "h1"},
		{"node lease", lease("kube-node-lease", "host-h1"), ""},
		{"other lease", lease(v1.SystemNamespace, "fargo-leader"), ""},
		{"bare prefix", lease(v1.SystemNamespace, "host-"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hostOfLease(c.obj); got != c.want {
				t.Fatalf("hostOfLease = %q, want %q", got, c.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
