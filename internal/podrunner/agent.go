// Package podrunner is the kubelet-like side of a fargo host: for every pod
// bound to one of the host's pod-nodes it pulls the images, makes the pod's
// network, volumes and sandbox, runs its containers with Kubernetes' pod
// semantics (init containers, restart policy with back-off, probes,
// lifecycle hooks, graceful termination) and posts the pod's status and
// events. It implements hostregistration.Sandboxes: the host agent tells it which
// pods to start and stop; a sandbox.Runtime does the running.
package podrunner

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/hostregistration"
	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/podenv"
	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Images pulls and finds images on this host (internal/image).
type Images interface {
	// Pull resolves ref against its registry and returns the image with
	// its layers unpacked, fetching only what the host lacks.
	Pull(ctx context.Context, ref string, auth authn.Keychain) (*image.Image, error)
	// Get returns the image already on the host, or an error wrapping
	// image.ErrNotFound.
	Get(ref string) (*image.Image, error)
}

// Network gives pods their network namespace and address (internal/network).
type Network interface {
	Attach(ctx context.Context, podUID string, ip netip.Addr) (netnsPath string, err error)
	Detach(ctx context.Context, podUID string) error
	Attached() ([]string, error)
}

// Volumes makes a pod's volumes on the host (internal/podvolume).
type Volumes interface {
	Setup(ctx context.Context, pod *corev1.Pod, milliCPU, memoryBytes int64) (map[string]string, error)
	Refresh(ctx context.Context, pod *corev1.Pod, milliCPU, memoryBytes int64) error
	Teardown(podUID string) error
}

// Config is what the node agent needs.
type Config struct {
	Client  kubernetes.Interface
	Runtime sandbox.Runtime
	// RuntimeName prefixes container IDs in pod status ("runc://ID").
	RuntimeName string
	// RuntimeNames are the prefixes of pods of other tiers than the
	// default ("qemu" for microvm).
	RuntimeNames map[sandbox.Tier]string
	Images       Images
	Network      Network
	Volumes      Volumes
	// Env resolves configMap, secret and service references of env vars.
	Env podenv.Source
	// LogDir is where pod logs go: LogDir/pods/NS_POD_UID/NAME/N.log with
	// links in LogDir/containers; normally /var/log.
	LogDir string
	// LogIndex records which pods' logs this host made (see PodLogs).
	LogIndex string
	// Region, ClusterDNS and ClusterDomain shape /etc/resolv.conf.
	Region        string
	ClusterDNS    string
	ClusterDomain string
	Now           func() time.Time
	Log           klog.Logger
}

// Agent runs the pods given to it; see the package doc.
type Agent struct {
	cfg     Config
	log     klog.Logger
	events  *eventSink
	backoff *backoffs

	// life ends when Run returns: teardown that retries stops then.
	life context.Context
	end  context.CancelFunc

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	// stoppedC carries the keys of pods whose workers are done.
	stoppedC chan string
}

var _ hostregistration.Sandboxes = (*Agent)(nil)

// New returns an Agent; Run must run for exits to be noticed.
func New(cfg Config) (*Agent, error) {
	if cfg.Client == nil || cfg.Runtime == nil || cfg.Images == nil || cfg.Network == nil || cfg.Volumes == nil {
		return nil, errors.New("podrunner: Config needs Client, Runtime, Images, Network and Volumes")
	}
	if cfg.Env == nil {
		cfg.Env = podenv.ClientSource(cfg.Client)
	}
	if cfg.LogDir == "" {
		cfg.LogDir = "/var/log"
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.RuntimeName == "" {
		cfg.RuntimeName = "runc"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = klog.Background()
	}
	life, end := context.WithCancel(context.Background())
	return &Agent{
		life: life, end: end,
		cfg: cfg, log: cfg.Log.WithName("podrunner"),
		events:   newEventSink(cfg.Client),
		backoff:  newBackoffs(cfg.Now),
		workers:  map[types.UID]*podWorker{},
		stoppedC: make(chan string),
	}, nil
}

// Run hands container exits to their pods' workers until ctx ends.
func (a *Agent) Run(ctx context.Context) {
	defer a.events.shutdown()
	defer a.end()
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-a.cfg.Runtime.Exits():
			if w := a.workerOfContainer(st.ID); w != nil {
				w.poke()
			}
		}
	}
}

// Stopped implements hostregistration.Sandboxes.
func (a *Agent) Stopped() <-chan string { return a.stoppedC }

// Start implements hostregistration.Sandboxes: it starts the pod's worker, which
// adopts whatever of the pod already runs.
func (a *Agent) Start(ctx context.Context, pod *corev1.Pod, node *corev1.Node) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w := a.workers[pod.UID]; w != nil {
		// A newer spec (activeDeadlineSeconds may have changed).
		w.update(pod)
		w.poke()
		return nil
	}
	w, err := newPodWorker(a, pod, node)
	if err != nil {
		return err
	}
	a.workers[pod.UID] = w
	go w.run()
	return nil
}

// Stop implements hostregistration.Sandboxes: it asks the pod's worker to end
// the pod and reports whether the worker is done.
func (a *Agent) Stop(ctx context.Context, pod *corev1.Pod) (bool, error) {
	a.mu.Lock()
	w := a.workers[pod.UID]
	a.mu.Unlock()
	if w == nil {
		// Not started by this agent: maybe left by the one before it.
		return true, a.removeLeftovers(ctx, pod)
	}
	w.update(pod)
	w.stop()
	select {
	case <-w.done:
	default:
		return false, nil
	}
	a.mu.Lock()
	delete(a.workers, pod.UID)
	a.mu.Unlock()
	a.backoff.forget(pod.UID)
	return true, a.logs().Remove(string(pod.UID))
}

// stopped is called by a worker when its pod is down: the pod's key goes
// out on Stopped without holding the worker up, until the agent stops.
func (a *Agent) stopped(pod *corev1.Pod) {
	key := cache.MetaObjectToName(pod).String()
	go func() {
		select {
		case a.stoppedC <- key:
		case <-a.life.Done():
		}
	}()
}

// Collect implements hostregistration.Sandboxes: it removes the sandboxes,
// networks, volumes and logs of pods not in keep.
func (a *Agent) Collect(ctx context.Context, keep map[types.UID]bool) error {
	pods, err := a.cfg.Runtime.Pods(ctx)
	if err != nil {
		return err
	}
	attached, err := a.cfg.Network.Attached()
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]bool{}
	for _, uid := range append(pods, attached...) {
		if keep[types.UID(uid)] || seen[uid] {
			continue
		}
		seen[uid] = true
		a.log.Info("Removing what is left of a deleted pod", "uid", uid)
		// The worker that would remove the logs may be gone: they go here,
		// with the sandbox.
		errs = append(errs, a.removeSandbox(ctx, uid), a.logs().Remove(uid))
	}
	// A pod that finished has logs but no sandbox or network left.
	for _, uid := range a.logs().Tracked() {
		if !keep[types.UID(uid)] && !seen[uid] {
			a.log.Info("Removing the logs of a deleted pod", "uid", uid)
			errs = append(errs, a.logs().Remove(uid))
		}
	}
	return errors.Join(errs...)
}

// logs are the pods' logs this agent keeps.
func (a *Agent) logs() PodLogs { return PodLogs{Dir: a.cfg.LogDir, Index: a.cfg.LogIndex} }

// removeLeftovers removes what a previous agent left of pod.
func (a *Agent) removeLeftovers(ctx context.Context, pod *corev1.Pod) error {
	if err := a.removeSandbox(ctx, string(pod.UID)); err != nil {
		return err
	}
	return a.logs().Remove(string(pod.UID))
}

// removeSandbox removes everything of pod uid but its logs.
func (a *Agent) removeSandbox(ctx context.Context, uid string) error {
	return errors.Join(
		a.cfg.Runtime.RemovePod(ctx, uid),
		a.cfg.Network.Detach(ctx, uid),
		a.cfg.Volumes.Teardown(uid),
	)
}

func (a *Agent) workerOfContainer(id string) *podWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		if w.ownsContainer(id) {
			return w
		}
	}
	return nil
}
