package hostmonitor

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
)

// TestRun drives a running monitor through a host's life with informers,
// the real clock and a short lease: the timer at expiry, not a lease
// event, must turn the host not Ready.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const lease = 300 * time.Millisecond
	dyn := newDynamic()
	hosts := hostclient.New(dyn)
	storedHost(t, hosts, &v1.Host{ObjectMeta: metav1.ObjectMeta{Name: "h1"}})
	cs := fake.NewClientset()
	leases := cs.CoordinationV1().Leases(v1.SystemNamespace)
	beat := func() {
		now := time.Now()
		l := heartbeat("h1", &now)
		if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	beat()

	m := New(hosts, lease, time.Now)
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(v1.SystemNamespace))
	hostInformer, leaseInformer := hostclient.NewInformer(dyn, 0), factory.Coordination().V1().Leases().Informer()
	must(t, m.Register(hostInformer, leaseInformer))
	factory.Start(ctx.Done())
	go hostInformer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), hostInformer.HasSynced, leaseInformer.HasSynced) {
		t.Fatal("informers did not sync")
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	steps := []struct {
		name   string
		do     func()
		status metav1.ConditionStatus
		reason string
	}{
		{"heartbeat", func() {}, metav1.ConditionTrue, v1.HostReasonHeartbeat},
		{"heartbeat stops", func() {}, metav1.ConditionFalse, v1.HostReasonHeartbeatStopped},
		{"heartbeat resumes", beat, metav1.ConditionTrue, v1.HostReasonHeartbeat},
		{"lease deleted", func() {
			must(t, leases.Delete(ctx, v1.HostLeaseName("h1"), metav1.DeleteOptions{}))
		}, metav1.ConditionFalse, v1.HostReasonHeartbeatStopped},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do()
			waitReady(t, ctx, hosts, s.status, s.reason, lease+minRecheck+2*time.Second)
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func waitReady(t *testing.T, ctx context.Context, hosts *hostclient.Client, status metav1.ConditionStatus, reason string, timeout time.Duration) {
	t.Helper()
	var last *metav1.Condition
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		h, err := hosts.Get(ctx, "h1")
		if err != nil {
			return false, err
		}
		last = meta.FindStatusCondition(h.Status.Conditions, v1.HostReady)
		return last != nil && last.Status == status && last.Reason == reason, nil
	})
	if err != nil {
		t.Fatalf("Ready condition %+v, want %s %s within %v", last, status, reason, timeout)
	}
}
