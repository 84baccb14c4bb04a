// Package hostregistration is the host side of fargo for pod-nodes. One runs per
// machine (`fargo agent`, or in-process in `fargo up`): it registers the
// machine as a Host and keeps the Host's heartbeat Lease fresh, keeps every
// pod-node the fargate-scheduler gives the host Ready the way a kubelet would
// (node status and node Lease), admits the pods bound to those nodes and
// finishes their deletion. Running the pods themselves, and posting their
// statuses, is the job of a Sandboxes implementation; without one, pods
// stay Pending.
package hostregistration

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fargo-dev/fargo/internal/reconcile"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
)

// Config is what Run needs.
type Config struct {
	Client kubernetes.Interface
	Hosts  *hostclient.Client
	// Name is the name of the Host object, and the holder of its Lease.
	Name string
	Spec v1.HostSpec
	// NodeInfo is what the host's pod-nodes report (see DetectNodeInfo).
	NodeInfo corev1.NodeSystemInfo
	// TierInfo is what pod-nodes of each tier kind (their
	// fargo.dev/sandbox-tier label) report instead, when it differs.
	TierInfo map[string]corev1.NodeSystemInfo
	// TierStatus is how each of Spec.Tiers runs here, for the Host's
	// status.
	TierStatus []v1.HostTierStatus
	// Sandboxes runs the pods and posts their statuses; nil leaves them Pending.
	Sandboxes Sandboxes
	// RenewInterval is how often the host Lease and the node Leases are
	// renewed; zero means DefaultRenewInterval.
	RenewInterval time.Duration
	// Now is the clock of timestamps written to the API; nil means time.Now.
	Now func() time.Time
	// Log receives what the agent does; a Logger without a sink (the zero
	// Logger, logr.Discard()) means klog's.
	Log klog.Logger
}

// DefaultRenewInterval is a quarter of the Lease durations, as for kubelets.
const DefaultRenewInterval = 10 * time.Second

// workers bounds how many nodes (and, separately, pods) are written to at
// once: enough to keep hundreds of leases fresh, few enough not to flood
// the apiserver when a host starts with many nodes.
const workers = 8

func (c Config) withDefaults() (Config, error) {
	if c.Client == nil || c.Hosts == nil {
		return c, errors.New("hostregistration: Config needs Client and Hosts")
	}
	if c.Name == "" {
		return c, errors.New("hostregistration: Config needs the host's Name")
	}
	if c.RenewInterval <= 0 {
		c.RenewInterval = DefaultRenewInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log.GetSink() == nil {
		c.Log = klog.Background()
	}
	c.Log = c.Log.WithValues("host", c.Name)
	return c, nil
}

// Run registers the host, then serves its pod-nodes and their pods until
// ctx ends. It returns an error only when the host cannot register; once
// registered, API errors are logged and retried. It leaves the Host, the
// nodes and their pods in place when it returns, for a restarted agent to
// adopt.
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := register(ctx, cfg); err != nil {
		return err
	}
	newAgent(cfg).serve(ctx)
	return nil
}

// agent holds the informers and queues of a registered host.
type agent struct {
	cfg       Config
	log       klog.Logger
	factories []informers.SharedInformerFactory
	nodes     cache.SharedIndexInformer
	pods      cache.SharedIndexInformer
	nodeLoop  *reconcile.Loop[string]
	podLoop   *reconcile.Loop[string]
	leases    *leaseKeeper
	sandboxes *sandboxSet
	admitter  *admitter
}

func newAgent(cfg Config) *agent {
	a := &agent{
		cfg:       cfg,
		log:       cfg.Log,
		leases:    newLeaseKeeper(cfg.Client, cfg.Now, cfg.RenewInterval/2),
		sandboxes: newSandboxSet(cfg.Sandboxes),
		admitter:  newAdmitter(),
	}
	a.nodeLoop = reconcile.New("hostregistration-nodes", withoutRequeue(a.syncNode))
	a.podLoop = reconcile.New("hostregistration-pods", withoutRequeue(a.syncPod))
	a.watchNodes()
	a.watchPods()
	return a
}

// withoutRequeue adapts a sync that only fails or succeeds to the loop.
func withoutRequeue(sync func(context.Context, string) error) reconcile.Func[string] {
	return func(ctx context.Context, key string) (time.Duration, error) { return 0, sync(ctx, key) }
}

// serve runs until ctx ends and returns only when every goroutine it
// started has ended.
func (a *agent) serve(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { a.heartbeat(ctx) })
	if a.cfg.Sandboxes != nil {
		wg.Go(func() { a.requeueStopped(ctx, a.cfg.Sandboxes.Stopped()) })
	}
	for _, f := range a.factories {
		f.Start(ctx.Done())
	}
	if cache.WaitForCacheSync(ctx.Done(), a.nodes.HasSynced, a.pods.HasSynced) {
		a.collectSandboxes(ctx)
		wg.Go(func() { a.renewNodesEvery(ctx) })
		wg.Go(func() { a.nodeLoop.Run(ctx, workers) })
		wg.Go(func() { a.podLoop.Run(ctx, workers) })
	}
	<-ctx.Done()
	wg.Wait()
	for _, f := range a.factories {
		f.Shutdown()
	}
}

// requeueStopped queues each pod whose sandbox has stopped, so that Stop
// is asked again and the pod's deletion finishes.
func (a *agent) requeueStopped(ctx context.Context, stopped <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-stopped:
			a.podLoop.Add(key)
		}
	}
}

// every calls f now and then every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
