// Package hostmonitor writes each Host's Ready condition from its heartbeat
// Lease, so that `kubectl get hosts` and `fargo get hosts` show what the
// fargate-scheduler sees: a host whose agent stopped renewing its Lease is
// not Ready and gets no new pods.
//
// The monitor looks at a host when the host or its Lease changes, and again
// when the Lease would expire, so that a stopped heartbeat is noticed on
// time without polling every host.
package hostmonitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/reconcile"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
)

// minRecheck is the shortest wait before a host is looked at again for its
// Lease's expiry, so that a Lease on the edge of expiring cannot make the
// monitor spin.
const minRecheck = time.Second

// leasePrefix starts the name of every host heartbeat Lease.
var leasePrefix = v1.HostLeaseName("")

// Monitor keeps Host Ready conditions in step with heartbeat Leases.
type Monitor struct {
	hosts         *hostclient.Client
	leaseDuration time.Duration
	now           func() time.Time

	hostStore, leaseStore cache.Store
	// loop holds names of hosts to look at.
	loop *reconcile.Loop[string]
}

// New returns a Monitor that counts a host alive while now() is before its
// Lease's renewTime plus leaseDuration. Register connects it to informers.
func New(hosts *hostclient.Client, leaseDuration time.Duration, now func() time.Time) *Monitor {
	m := &Monitor{hosts: hosts, leaseDuration: leaseDuration, now: now}
	m.loop = reconcile.New("fargo-host-monitor", m.sync)
	return m
}

// Register watches hostInformer (hostclient.NewInformer) and leaseInformer
// (Leases in v1.SystemNamespace). It must be called once, before the
// informers start; the caller runs them.
func (m *Monitor) Register(hostInformer, leaseInformer cache.SharedIndexInformer) error {
	m.hostStore, m.leaseStore = hostInformer.GetStore(), leaseInformer.GetStore()
	_, err := hostInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.enqueueHost,
		UpdateFunc: func(_, obj any) { m.enqueueHost(obj) },
	})
	if err != nil {
		return err
	}
	_, err = leaseInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.enqueueLease,
		UpdateFunc: func(_, obj any) { m.enqueueLease(obj) },
		DeleteFunc: m.enqueueLease,
	})
	return err
}

func (m *Monitor) enqueueHost(obj any) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		m.loop.Add(key)
	}
}

// enqueueLease queues the host whose heartbeat lease obj is, if any.
func (m *Monitor) enqueueLease(obj any) {
	if host := hostOfLease(obj); host != "" {
		m.loop.Add(host)
	}
}

// hostOfLease names the host whose heartbeat lease obj is, or "".
func hostOfLease(obj any) string {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return ""
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil || ns != v1.SystemNamespace {
		return ""
	}
	host, _ := strings.CutPrefix(name, leasePrefix)
	if host == name {
		return ""
	}
	return host
}

// Run works until ctx ends, which it reports as a nil error. The caller has
// waited for the informers to sync.
func (m *Monitor) Run(ctx context.Context) error {
	if m.hostStore == nil {
		return errors.New("hostmonitor: Run before Register")
	}
	m.loop.Run(ctx, 1)
	return nil
}

// sync brings the Ready condition of the host called name up to date. It
// returns how soon the host must be looked at again because its Lease will
// expire, or 0 when only a change can alter the condition.
func (m *Monitor) sync(ctx context.Context, name string) (time.Duration, error) {
	obj, exists, err := m.hostStore.GetByKey(name)
	if err != nil || !exists {
		return 0, err
	}
	h, err := hostclient.FromObject(obj)
	if err != nil {
		return 0, err
	}
	want, recheck := m.condition(h)
	if conds := slices.Clone(h.Status.Conditions); meta.SetStatusCondition(&conds, want) {
		if err := m.write(ctx, name, want); err != nil {
			return 0, err
		}
	}
	return recheck, nil
}

// condition is what the Ready condition of h should say now, and when it
// will change to False unless the Lease is renewed. Messages change only
// with the condition's status, so that renewals write nothing.
func (m *Monitor) condition(h *v1.Host) (metav1.Condition, time.Duration) {
	now := m.now()
	c := metav1.Condition{Type: v1.HostReady, ObservedGeneration: h.Generation, LastTransitionTime: metav1.NewTime(now)}
	renewed, ok := m.renewTime(h.Name)
	if !ok {
		c.Status, c.Reason = metav1.ConditionFalse, v1.HostReasonHeartbeatStopped
		c.Message = fmt.Sprintf("no heartbeat yet (no Lease %s/%s): is fargo agent running on this host?",
			v1.SystemNamespace, v1.HostLeaseName(h.Name))
		return c, 0
	}
	expiry := renewed.Add(m.leaseDuration)
	if !now.Before(expiry) {
		c.Status, c.Reason = metav1.ConditionFalse, v1.HostReasonHeartbeatStopped
		c.Message = fmt.Sprintf("no heartbeat since %s (lease expires after %s)",
			renewed.UTC().Format(time.RFC3339), m.leaseDuration)
		return c, 0
	}
	c.Status, c.Reason = metav1.ConditionTrue, v1.HostReasonHeartbeat
	c.Message = "the host agent renews its heartbeat Lease"
	return c, max(expiry.Sub(now), minRecheck)
}

// renewTime is when the host's Lease was last renewed; false when it has
// no Lease or the Lease was never renewed.
func (m *Monitor) renewTime(host string) (time.Time, bool) {
	obj, ok, _ := m.leaseStore.GetByKey(v1.SystemNamespace + "/" + v1.HostLeaseName(host))
	if !ok {
		return time.Time{}, false
	}
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok || lease.Spec.RenewTime == nil {
		return time.Time{}, false
	}
	return lease.Spec.RenewTime.Time, true
}

// write sets the condition by read-modify-write of the stored Host, so that
// the status.nodeInfo the agent writes is kept, retrying on conflicts.
func (m *Monitor) write(ctx context.Context, name string, c metav1.Condition) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		h, err := m.hosts.Get(ctx, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		c.ObservedGeneration = h.Generation
		if !meta.SetStatusCondition(&h.Status.Conditions, c) {
			return nil
		}
		_, err = m.hosts.UpdateStatus(ctx, h)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}
