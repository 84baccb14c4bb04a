// Package scheduler is the fargate-scheduler: it places pods whose
// schedulerName is podnode.SchedulerName, one pod-node per pod, on the
// hosts whose agents run their sandboxes (spec sections 4 and 5).
//
// Decisions are made on one goroutine against in-memory accounting of
// hosts, pod-nodes and reservations ("assume", as kube-scheduler does), so
// a burst never double-books a host or an IP; the API calls that follow
// (create the node, bind, events) run on a pool of workers. The Node object
// is the IP reservation: its name holds the IP, so a second create of the
// same IP fails with AlreadyExists. Pod-nodes live as long as their pod
// object; deleting the pod deletes its node and the node's Lease.
package scheduler

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/fargo-dev/fargo/internal/reconcile"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/podnode"
)

// Defaults of Config.
const (
	DefaultLaunchQPS   = 500
	DefaultLaunchBurst = 1000
	// workers run node creates and binds; 16 keep a 2-core apiserver busy
	// without queueing on it.
	workers = 16
)

// Config is what the scheduler needs; zero fields get defaults.
type Config struct {
	Client kubernetes.Interface
	Region string // e.g. "us-east-1", part of node names
	// LaunchQPS and LaunchBurst size the token bucket every launch takes a
	// token from; defaults DefaultLaunchQPS and DefaultLaunchBurst.
	LaunchQPS   float64
	LaunchBurst int
	// HostLeaseDuration is how long after its heartbeat a host takes pods;
	// default v1.HostLeaseDurationSeconds.
	HostLeaseDuration time.Duration
	// Logging returns the current aws-logging decision, for the text of the
	// LoggingDisabled event of pods admitted with an invalid configmap.
	Logging func() awslogging.Decision
	// ProfileSubnets returns the subnets of a profile; nil means any of the
	// host's blocks.
	ProfileSubnets func(profile string) []string
	// ProfileTier returns a profile's sandbox tier kind; "" means the
	// host's default.
	ProfileTier func(profile string) string
	Now         func() time.Time // default time.Now
}

// Scheduler places Fargate pods. Make it with New, wire it with Register,
// start it with Run.
type Scheduler struct {
	cfg      Config
	acct     *accounts
	queue    *queue
	limiter  *rate.Limiter
	jobs     chan func(context.Context)
	cleanup  *reconcile.Loop[cleanupItem]
	recorder record.EventRecorder // set in Run unless a test set it
	pods     cache.Store
	nodes    cache.Store
	workers  int
	wg       sync.WaitGroup
	// marked remembers the Unschedulable message written for each pod
	// (by key, with its UID): an informer copy older than that write must
	// not give a second event.
	marked sync.Map
}

// markedRecord is what markUnschedulable wrote for a pod.
type markedRecord struct {
	uid types.UID
	msg string
}

// New returns a scheduler with cfg's defaults filled in.
func New(cfg Config) *Scheduler {
	if cfg.LaunchQPS <= 0 {
		cfg.LaunchQPS = DefaultLaunchQPS
	}
	if cfg.LaunchBurst <= 0 {
		cfg.LaunchBurst = DefaultLaunchBurst
	}
	if cfg.HostLeaseDuration <= 0 {
		cfg.HostLeaseDuration = v1.HostLeaseDurationSeconds * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logging == nil {
		cfg.Logging = func() awslogging.Decision { return awslogging.Decision{} }
	}
	if cfg.ProfileTier == nil {
		cfg.ProfileTier = func(string) string { return "" }
	}
	if cfg.ProfileSubnets == nil {
		cfg.ProfileSubnets = func(string) []string { return nil }
	}
	s := &Scheduler{
		cfg:     cfg,
		acct:    newAccounts(),
		queue:   newQueue(),
		limiter: rate.NewLimiter(rate.Limit(cfg.LaunchQPS), cfg.LaunchBurst),
		jobs:    make(chan func(context.Context), 4*workers),
		workers: workers,
	}
	s.cleanup = reconcile.NewWithRateLimiter("fargate-scheduler-cleanup", s.cleanNode,
		workqueue.NewTypedItemExponentialFailureRateLimiter[cleanupItem](defaultBackoffBase, defaultBackoffMax))
	return s
}

// Register adds the scheduler's event handlers. pods must hold the pods
// with spec.schedulerName=fargate-scheduler, nodes the nodes labelled
// eks.amazonaws.com/compute-type=fargate, hosts all Hosts (the store of
// hostclient.NewInformer) and hostLeases the Leases of v1.SystemNamespace.
// Call it before the informers start.
func (s *Scheduler) Register(pods, nodes, hosts, hostLeases cache.SharedIndexInformer) error {
	s.pods, s.nodes = pods.GetStore(), nodes.GetStore()
	for _, reg := range []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{pods, cache.ResourceEventHandlerFuncs{AddFunc: s.podChanged, UpdateFunc: func(_, o any) { s.podChanged(o) }, DeleteFunc: s.podDeleted}},
		{nodes, cache.ResourceEventHandlerFuncs{AddFunc: s.nodeChanged, UpdateFunc: func(_, o any) { s.nodeChanged(o) }, DeleteFunc: s.nodeDeleted}},
		{hosts, cache.ResourceEventHandlerFuncs{AddFunc: s.hostChanged, UpdateFunc: func(_, o any) { s.hostChanged(o) }, DeleteFunc: s.hostDeleted}},
		{hostLeases, cache.ResourceEventHandlerFuncs{AddFunc: s.leaseChanged, UpdateFunc: func(_, o any) { s.leaseChanged(o) }, DeleteFunc: s.leaseDeleted}},
	} {
		if _, err := reg.inf.AddEventHandler(reg.h); err != nil {
			return err
		}
	}
	return nil
}

// Run places pods until ctx ends; call it once the informers of Register
// have synced. It first rebuilds the accounting from the node informer,
// deletes pod-nodes whose pod is gone and queues every unbound pod (one
// that already has a pod-node is bound to it), so a restart between node
// create and bind neither leaks nor double-books.
func (s *Scheduler) Run(ctx context.Context) error {
	stopEvents := s.startEvents(ctx)
	defer stopEvents()
	s.recover()
	s.wg.Go(func() { s.cleanup.Run(ctx, s.workers) })
	for range s.workers {
		s.wg.Add(1)
		go s.work(ctx)
	}
	for {
		key, kicked, ok := s.queue.Pop(ctx)
		if !ok {
			break
		}
		s.decide(ctx, key, kicked)
	}
	close(s.jobs)
	s.wg.Wait()
	return nil
}

// work runs the API calls the decision goroutine hands over.
func (s *Scheduler) work(ctx context.Context) {
	defer s.wg.Done()
	for job := range s.jobs {
		job(ctx)
	}
}

// startEvents starts the event broadcaster of component fargate-scheduler;
// the returned func shuts it down.
func (s *Scheduler) startEvents(ctx context.Context) func() {
	if s.recorder != nil {
		return func() {}
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.cfg.Client.CoreV1().Events("")})
	s.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: podnode.SchedulerName})
	return b.Shutdown
}
