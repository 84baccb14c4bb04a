package podrunner

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sizing"
)

// resyncInterval is how often a pod worker looks at its containers even
// when nothing pokes it: runtime exits that were missed, back-off timers.
const resyncInterval = time.Second

// volumeRefreshInterval is how often configMap, secret and token volumes
// are brought up to date, about what a kubelet's sync period gives.
const volumeRefreshInterval = 30 * time.Second

// podWorker runs one pod from start to teardown on its own goroutine.
// Fields under mu are shared with the Agent; the rest belong to run.
type podWorker struct {
	a        *Agent
	uid      types.UID
	node     *corev1.Node
	ip       netip.Addr
	size     sizing.Size
	log      klog.Logger
	recorder record.EventRecorder

	mu    sync.Mutex
	pod   *corev1.Pod
	ids   map[string]bool // container IDs, for routing exits
	wake  chan struct{}
	stopC chan struct{}
	once  sync.Once
	done  chan struct{}

	// view is what the kubelet API and log rotation see (kubeletview.go).
	view map[string]attemptView

	netns     string
	volumes   map[string]string
	ctrs      map[string]*container // by container name
	probes    *probes
	initDone  bool
	sandboxUp bool // network, volumes and sandbox set up
	finished  bool // terminal phase reached and sandbox removed
	// startTime is the pod's start time when its status has none yet:
	// when this worker took the pod on, as a kubelet stamps it, in whole
	// seconds as the API keeps it (or the server's copy would differ
	// from what was posted, and post it again).
	startTime metav1.Time
	// settled is set once the pod's first status after its set-up is
	// posted: its start is over (Agent.Starting).
	settled     atomic.Bool
	posted      *corev1.PodStatus
	lastRefresh time.Time
	// deadlineExceeded is set once activeDeadlineSeconds ended the pod.
	deadlineExceeded bool
	// logMessages are termination messages taken from exited attempts'
	// logs (FallbackToLogsOnError), by container ID.
	logMessages map[string]string
}

func newPodWorker(a *Agent, pod *corev1.Pod, node *corev1.Node) (*podWorker, error) {
	ip, err := podnode.IP(node)
	if err != nil {
		return nil, err
	}
	size, err := podnode.SizeOf(node)
	if err != nil {
		return nil, err
	}
	w := &podWorker{
		a: a, uid: pod.UID, node: node, ip: ip, size: size, pod: pod,
		log:      a.log.WithValues("pod", klog.KObj(pod)),
		recorder: a.events.recorderFor(node.Name),
		ids:      map[string]bool{},
		wake:     make(chan struct{}, 1),
		stopC:    make(chan struct{}),
		done:     make(chan struct{}),
		ctrs:     map[string]*container{},

		logMessages: map[string]string{},
		startTime:   metav1.NewTime(a.cfg.Now()).Rfc3339Copy(),
		// Until its containers are looked at, a pod without init
		// containers waits in ContainerCreating, one with them in
		// PodInitializing.
		initDone: len(pod.Spec.InitContainers) == 0,
	}
	w.probes = newProbes(w)
	return w, nil
}

func (w *podWorker) current() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
}

func (w *podWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *podWorker) stop() { w.once.Do(func() { close(w.stopC) }) }

func (w *podWorker) stopping() bool {
	select {
	case <-w.stopC:
		return true
	default:
		return false
	}
}

func (w *podWorker) ownsContainer(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ids[id]
}

func (w *podWorker) remember(id string) {
	w.mu.Lock()
	w.ids[id] = true
	w.mu.Unlock()
}

func (w *podWorker) milliCPU() int64    { return w.size.MilliCPU }
func (w *podWorker) memoryBytes() int64 { return w.size.MemoryMiB << 20 }

// run is the pod's life: set up, run until the pod ends or is stopped,
// then tear down. The Agent learns the end through done and stopped.
func (w *podWorker) run() {
	defer w.a.stopped(w.current())
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-w.stopC:
		case <-w.done:
		}
		cancel()
	}()
	if finished(w.current()) {
		// Finished before this agent started (it restarted): nothing
		// runs again; the sandbox went when the pod finished.
		w.finished = true
		w.settled.Store(true)
		<-w.stopC
	} else if w.setUp(ctx) {
		w.loop(ctx)
	}
	w.terminate()
}

// finished reports a pod whose phase is final, as a kubelet never runs
// such a pod again.
func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// setUp makes the pod's network, volumes and sandbox, retrying until it
// works or the pod is stopped; it reports whether the pod may run.
func (w *podWorker) setUp(ctx context.Context) bool {
	delay := 500 * time.Millisecond
	for {
		err := w.trySetUp(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.log.Error(err, "Setting up the pod's sandbox, will retry")
		w.recorder.Event(w.current(), corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
		w.postPending(ctx)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (w *podWorker) trySetUp(ctx context.Context) error {
	pod := w.current()
	if podTier(pod) == sandbox.TierMicroVM {
		w.postPending(ctx) // a VM boots for a second or more
	}
	netns, err := w.a.cfg.Network.Attach(ctx, string(w.uid), w.ip)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	w.netns = netns
	vols, err := w.a.cfg.Volumes.Setup(ctx, pod, w.milliCPU(), w.memoryBytes())
	if err != nil {
		w.recorder.Event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
		return fmt.Errorf("volumes: %w", err)
	}
	w.volumes, w.lastRefresh = vols, w.a.cfg.Now()
	cfg := sandbox.PodConfig{
		UID: string(w.uid), Namespace: pod.Namespace, Name: pod.Name,
		Hostname: hostnameOf(pod), NetnsPath: netns,
		MilliCPU: w.milliCPU(), MemoryBytes: w.memoryBytes(),
		Files: w.podFiles(pod), Tier: podTier(pod),
		EphemeralStorageBytes: ephemeralStorage(pod),
	}
	if cfg.Tier.ImagesAtCreate() {
		if cfg.Images, err = w.podImages(ctx, pod); err != nil {
			return err
		}
	}
	err = w.a.cfg.Runtime.CreatePod(ctx, cfg)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := w.adopt(ctx); err != nil {
		return err
	}
	w.sandboxUp = true
	return nil
}

// loop runs the pod's containers until the pod is stopped.
func (w *podWorker) loop(ctx context.Context) {
	tick := time.NewTicker(resyncInterval)
	defer tick.Stop()
	for {
		if !w.finished {
			w.refreshContainers(ctx)
			w.checkDeadline(ctx)
			w.step(ctx)
			if terminal(w.phase()) {
				w.finish(ctx)
			}
			w.refreshVolumes(ctx)
		}
		w.publish()
		w.syncStatus(ctx)
		select {
		case <-w.stopC:
			return
		case <-w.wake:
		case <-tick.C:
		}
	}
}

// finish ends a pod whose phase is final, as a kubelet does for a
// completed Job's pod: the sandbox goes, the status and logs stay.
func (w *podWorker) finish(ctx context.Context) {
	w.probes.stopAll()
	// Sidecars (and ephemeral containers) may still run: a kubelet stops
	// them as it stops a deleted pod's containers, in order, with grace.
	w.killAll(ctx, gracePeriod(w.current()))
	w.refreshContainers(ctx)
	if err := w.a.removeSandbox(ctx, string(w.uid)); err != nil {
		w.log.Error(err, "Removing the sandbox of a finished pod")
		return // tried again next round
	}
	w.finished = true
	w.log.V(2).Info("Pod finished; sandbox removed", "phase", w.phase())
}

func (w *podWorker) refreshVolumes(ctx context.Context) {
	now := w.a.cfg.Now()
	if now.Sub(w.lastRefresh) < volumeRefreshInterval {
		return
	}
	w.lastRefresh = now
	if err := w.a.cfg.Volumes.Refresh(ctx, w.current(), w.milliCPU(), w.memoryBytes()); err != nil {
		w.log.Error(err, "Refreshing volumes")
	}
}

// terminate stops the pod's containers honouring its grace period and
// preStop hooks, posts their final status, and removes the sandbox, until
// the agent stops.
func (w *podWorker) terminate() {
	// Teardown ends with the agent: what is left then, the next agent
	// adopts or collects.
	ctx := w.a.life
	if !w.finished {
		// Readiness probes go on while containers stop, liveness and
		// startup probes do not, as on a kubelet.
		w.probes.terminating.Store(true)
		w.refreshContainers(ctx)
		w.stopContainers(ctx, gracePeriod(w.current()))
		w.refreshContainers(ctx)
		w.publish()
		w.syncStatus(ctx)
	}
	w.probes.stopAll()
	remove := func(ctx context.Context) error { return w.a.removeSandbox(ctx, string(w.uid)) }
	if err := retryRemoval(w.a.life, remove, w.log); err != nil {
		// The next agent's Collect removes what is left.
		w.log.Error(err, "Gave up removing the pod's sandbox: the agent is stopping; left behind for the next agent")
	}
}

// retryRemoval runs remove every second until it succeeds or life ends,
// and then returns what it could not remove.
func retryRemoval(life context.Context, remove func(context.Context) error, log klog.Logger) error {
	for {
		err := remove(life)
		if err == nil {
			return nil
		}
		if life.Err() != nil {
			return err
		}
		log.Error(err, "Removing the pod's sandbox, will retry")
		select {
		case <-life.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// stopContainers kills the pod's containers and posts the status as they
// stop: sidecars stop after the regular containers, and their readiness
// may change meanwhile.
func (w *podWorker) stopContainers(ctx context.Context, grace time.Duration) {
	done := w.killAllAsync(ctx, grace)
	tick := time.NewTicker(resyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-w.wake:
		case <-tick.C:
		}
		w.refreshContainers(ctx)
		w.publish()
		w.syncStatus(ctx)
	}
}

// gracePeriod is how long the pod's containers get between SIGTERM and
// SIGKILL: the deletion's, else the spec's, else 30 s.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}
