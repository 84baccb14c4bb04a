package logrouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/tail"
	"github.com/fargo-dev/fargo/internal/profile"
)

// Config is a host's log router.
type Config struct {
	// LogDir holds the pods' logs as the pod runner writes them:
	// pods/<ns>_<pod>_<uid>/<container>/<attempt>.log, and
	// containers/<pod>_<ns>_<container>-<id>.log links to them.
	LogDir string
	// StateDir keeps each pod's config snapshot and log positions.
	StateDir string
	Client   kubernetes.Interface
	// Profiles reads the pods' FargateProfiles for their logging
	// credentials; nil uses the Env's (or the SDK's default) for all.
	Profiles Profiles
	// Cluster names the flb_log_cw log group <cluster>-fluent-bit-logs.
	Cluster string
	// Region is the cluster's; the router's own logs go to CloudWatch in
	// it when no cloudwatch output names a region.
	Region string
	// Env is handed to every output (credentials, HTTP client).
	Env logpipe.Env
	// Stdout receives the stdout output's records; nil discards them.
	Stdout io.Writer
	// Poll is how often the router looks for new pods and containers, and
	// an idle pipeline for new lines; zero is 250 ms.
	Poll time.Duration
	// MaxLineBytes: longer lines are skipped, as Fluent Bit's tail does
	// with Skip_Long_Lines; zero is 256 KiB.
	MaxLineBytes int
	// BufferBytes bounds what a pod's pipeline reads ahead of its
	// outputs (Fluent Bit's Mem_Buf_Limit); zero is 1 MiB.
	BufferBytes int
}

// Router runs the pipelines of a host's pods.
type Router struct {
	cfg  Config
	mu   sync.Mutex
	pods map[string]bool // pod UIDs looked at, routed or not
	wg   sync.WaitGroup
}

// New returns a router; Run starts it.
func New(cfg Config) *Router {
	if cfg.Poll == 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.MaxLineBytes == 0 {
		cfg.MaxLineBytes = 256 << 10
	}
	if cfg.BufferBytes == 0 {
		cfg.BufferBytes = 1 << 20
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	return &Router{cfg: cfg, pods: map[string]bool{}}
}

// Run routes logs until ctx ends, then waits for the pipelines to stop.
// Positions are saved, so the next Run goes on where this one stopped.
func (r *Router) Run(ctx context.Context) {
	r.removeStaleState()
	defer r.wg.Wait()
	for {
		r.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.Poll):
		}
	}
}

// podRef names a pod by its log directory, <ns>_<pod>_<uid>: neither a
// namespace nor a pod name may hold an underscore.
type podRef struct{ Namespace, Name, UID string }

func (p podRef) dir(logDir string) string {
	return filepath.Join(logDir, "pods", p.Namespace+"_"+p.Name+"_"+p.UID)
}

func (r *Router) scan(ctx context.Context) {
	dirs, _ := os.ReadDir(filepath.Join(r.cfg.LogDir, "pods"))
	for _, d := range dirs {
		parts := strings.SplitN(d.Name(), "_", 3)
		if len(parts) != 3 || !d.IsDir() {
			continue
		}
		ref := podRef{Namespace: parts[0], Name: parts[1], UID: parts[2]}
		r.mu.Lock()
		known := r.pods[ref.UID]
		r.mu.Unlock()
		if !known {
			r.start(ctx, ref)
		}
	}
}

// start begins routing a pod's logs when its Logging annotation says so.
// A pod the API does not know (yet) is looked at again on the next scan.
func (r *Router) start(ctx context.Context, ref podRef) {
	pod, err := r.cfg.Client.CoreV1().Pods(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && string(pod.UID) != ref.UID) {
		r.remember(ref.UID)
		return
	}
	if err != nil {
		return
	}
	if pod.Annotations[profile.AnnotationLogging] != awslogging.AnnotationEnabled {
		r.remember(ref.UID)
		return
	}
	w, err := r.newPodLog(ctx, ref, pod)
	if err != nil {
		klog.ErrorS(err, "Not routing the pod's logs", "pod", klog.KObj(pod))
		r.remember(ref.UID)
		return
	}
	r.remember(ref.UID)
	r.wg.Go(func() {
		if w.run(ctx) {
			os.RemoveAll(r.stateDir(ref.UID))
		}
		r.mu.Lock()
		delete(r.pods, ref.UID)
		r.mu.Unlock()
	})
}

func (r *Router) remember(uid string) {
	r.mu.Lock()
	r.pods[uid] = true
	r.mu.Unlock()
}

func (r *Router) stateDir(uid string) string { return filepath.Join(r.cfg.StateDir, uid) }

// newPodLog builds a pod's pipeline from its config snapshot, taking the
// snapshot now when the pod is new.
func (r *Router) newPodLog(ctx context.Context, ref podRef, pod *corev1.Pod) (*podLog, error) {
	data, err := r.snapshot(ctx, ref.UID)
	if err != nil {
		return nil, err
	}
	// The cluster's rules were applied when the pod was admitted; here
	// every plugin fargo has may run.
	cfg, err := awslogging.ParseWith(data, awslogging.Options{Extended: true})
	if err != nil {
		return nil, fmt.Errorf("the aws-logging configmap the pod started with: %w", err)
	}
	creds, err := r.credentialsFor(ctx, pod)
	if err != nil {
		return nil, err
	}
	self := r.selfLog(ref, cfg, creds)
	env := r.env(self.printf)
	if creds != nil {
		env.AWSCredentials = creds
	}
	pipe, err := Build(cfg, Plugins{
		Env:    env,
		Pods:   apiPods{r.cfg.Client},
		Stdout: r.cfg.Stdout,
	})
	if err != nil {
		self.close()
		return nil, err
	}
	pos, err := loadPositions(filepath.Join(r.stateDir(ref.UID), "positions.json"))
	if err != nil {
		pipe.Close()
		self.close()
		return nil, err
	}
	self.printf("[ info] [fargo-log-router] routing logs of pod %s/%s: %d filters, %d outputs", ref.Namespace, ref.Name, len(pipe.stages), len(pipe.routes))
	return &podLog{
		pod: ref, logDir: r.cfg.LogDir, pipe: pipe, pos: pos, self: self,
		readers: map[string]*tail.Reader{}, skipped: map[string]int{}, log: self.printf,
		poll: r.cfg.Poll, flushGap: 2 * time.Second, grace: stopGrace,
		readOpts: tail.Options{MaxLineBytes: r.cfg.MaxLineBytes, ReadBytes: r.cfg.BufferBytes},
	}, nil
}

func (r *Router) env(logf func(string, ...any)) logpipe.Env {
	env := r.cfg.Env
	env.Cluster = r.cfg.Cluster
	env.Logf = logf
	return env
}

// snapshot returns the ConfigMap data the pod started with: saved in the
// pod's state when it was first seen, read from the API and saved now
// otherwise.
func (r *Router) snapshot(ctx context.Context, uid string) (map[string]string, error) {
	path := filepath.Join(r.stateDir(uid), "aws-logging.json")
	if raw, err := os.ReadFile(path); err == nil {
		var data map[string]string
		if err := json.Unmarshal(raw, &data); err != nil {
			return nil, fmt.Errorf("config snapshot %s: %w", path, err)
		}
		return data, nil
	}
	cm, err := r.cfg.Client.CoreV1().ConfigMaps(awslogging.Namespace).Get(ctx, awslogging.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading configmap %s/%s: %w", awslogging.Namespace, awslogging.ConfigMapName, err)
	}
	raw, _ := json.Marshal(cm.Data)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return nil, err
	}
	return cm.Data, nil
}

// removeStaleState removes the state of pods whose logs are gone: they
// were removed while the router was not running.
func (r *Router) removeStaleState() {
	entries, _ := os.ReadDir(r.cfg.StateDir)
	for _, e := range entries {
		dirs, _ := filepath.Glob(filepath.Join(r.cfg.LogDir, "pods", "*_"+e.Name()))
		if len(dirs) == 0 {
			if err := os.RemoveAll(filepath.Join(r.cfg.StateDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				klog.ErrorS(err, "Removing stale log router state")
			}
		}
	}
}
