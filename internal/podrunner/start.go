package podrunner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/podenv"
	"github.com/fargo-dev/fargo/internal/podvolume"
	"github.com/fargo-dev/fargo/internal/sandbox"
)

// startContainer runs the next attempt of c: image, environment, mounts,
// the runtime's start, then the postStart hook. What fails leaves c
// waiting with kubelet's reason and an event.
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, c *container) {
	img, ok := w.ensureImage(ctx, pod, c)
	if !ok {
		return
	}
	cfg, err := w.containerConfig(ctx, pod, c, img)
	if err != nil {
		w.waitWith(pod, c, "CreateContainerConfigError", err)
		return
	}
	// Recorded before the log exists, so that no log goes unrecorded.
	if err := w.a.logs().Track(string(w.uid)); err != nil {
		w.log.Error(err, "Recording the pod's logs")
	}
	st, err := w.a.cfg.Runtime.StartContainer(ctx, string(w.uid), cfg)
	if err != nil {
		if ctx.Err() == nil {
			w.waitWith(pod, c, "RunContainerError", err)
			w.a.backoff.next(backoffKey(pod, c.spec))
		}
		return
	}
	w.remember(st.ID)
	w.recorder.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.spec.Name)
	w.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	if c.last != nil && c.cur != nil {
		w.removeAttempt(ctx, *c.last)
	}
	if c.cur != nil {
		c.last = c.cur
	}
	c.cur = &st
	c.waitReason, c.waitMessage = "", ""
	c.started.Store(c.spec.StartupProbe == nil)
	c.ready.Store(false)
	linkLog(w.a.cfg.LogDir, pod, c.spec.Name, st.ID, cfg.LogPath)
	w.postStart(ctx, pod, c)
	w.probes.startFor(c)
}

// waitWith leaves c waiting for reason, with an event carrying err.
func (w *podWorker) waitWith(pod *corev1.Pod, c *container, reason string, err error) {
	if c.waitReason != reason || c.waitMessage != err.Error() {
		w.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
	}
	c.waitReason, c.waitMessage = reason, err.Error()
}

// postStart runs c's postStart hook; when it fails the container is
// killed, as on a kubelet, and restarted by its policy.
func (w *podWorker) postStart(ctx context.Context, pod *corev1.Pod, c *container) {
	if c.spec.Lifecycle == nil || c.spec.Lifecycle.PostStart == nil {
		return
	}
	hookCtx, cancel := context.WithTimeout(ctx, gracePeriod(pod))
	defer cancel()
	err := w.runHook(hookCtx, c, c.spec.Lifecycle.PostStart)
	if err == nil {
		return
	}
	// As a kubelet: the event leaves the error out, which may carry what
	// the hook's command printed (secrets included); the log has it.
	w.log.Info("PostStart hook failed", "container", c.spec.Name, "err", err)
	w.recorder.Event(pod, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed")
	_ = w.a.cfg.Runtime.StopContainer(ctx, string(w.uid), c.cur.ID, gracePeriod(pod))
	w.refreshContainers(ctx)
}

// containerConfig is the runtime's view of c's next attempt.
func (w *podWorker) containerConfig(ctx context.Context, pod *corev1.Pod, c *container, img *image.Image) (sandbox.ContainerConfig, error) {
	if err := verifyRunAsNonRoot(pod, c.spec, img.Config.User); err != nil {
		return sandbox.ContainerConfig{}, err
	}
	env, err := podenv.Container(ctx, w.withOwnStatus(pod), c.spec, w.a.cfg.Env)
	if err != nil {
		return sandbox.ContainerConfig{}, err
	}
	mounts, err := podvolume.Mounts(pod, c.spec, w.volumes, env)
	if err != nil {
		return sandbox.ContainerConfig{}, err
	}
	attempt := c.nextAttempt()
	cfg := sandbox.ContainerConfig{
		Name: c.spec.Name, Attempt: attempt,
		Layers:     img.Layers,
		Args:       commandLine(c.spec, img.Config, env),
		Env:        mergeEnv(img.Config.Env, env),
		WorkingDir: firstNonEmpty(c.spec.WorkingDir, img.Config.WorkingDir),
		User:       userOf(pod, c.spec, img.Config.User),
		Mounts:     mounts,
		LogPath:    logPath(w.a.cfg.LogDir, pod, c.spec.Name, attempt),
		Stdin:      c.spec.Stdin,
		StdinOnce:  c.spec.StdinOnce,
		TTY:        c.spec.TTY,

		TerminationMessagePath: c.spec.TerminationMessagePath,
		Security:               security(pod, c.spec),
	}
	if q, ok := c.spec.Resources.Limits[corev1.ResourceMemory]; ok {
		cfg.MemoryLimitBytes = q.Value()
	}
	if q, ok := c.spec.Resources.Limits[corev1.ResourceCPU]; ok {
		cfg.MilliCPULimit = q.MilliValue()
	}
	if len(cfg.Args) == 0 {
		return cfg, errors.New("no command specified")
	}
	return cfg, nil
}

// commandLine is the container's argv as a kubelet and container runtime
// make it: command replaces the image's entrypoint (and drops its cmd),
// args replace the cmd; $(VAR) refers to the container's environment.
func commandLine(c *corev1.Container, img image.Config, env []string) []string {
	mapping := expansion.MappingFuncFor(envMap(env))
	expand := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = expansion.Expand(s, mapping)
		}
		return out
	}
	switch {
	case len(c.Command) > 0:
		return append(expand(c.Command), expand(c.Args)...)
	case len(c.Args) > 0:
		return append(append([]string{}, img.Entrypoint...), expand(c.Args)...)
	}
	return append(append([]string{}, img.Entrypoint...), img.Cmd...)
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// mergeEnv puts the container's variables over the image's.
func mergeEnv(image, container []string) []string {
	seen := envMap(container)
	out := make([]string, 0, len(image)+len(container))
	for _, kv := range image {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := seen[k]; !over {
			out = append(out, kv)
		}
	}
	return append(out, container...)
}

// userOf is the process user: runAsUser/runAsGroup of the container or
// the pod, else the image's.
func userOf(pod *corev1.Pod, c *corev1.Container, imageUser string) string {
	var uid, gid *int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		uid, gid = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	switch {
	case uid != nil && gid != nil:
		return strconv.FormatInt(*uid, 10) + ":" + strconv.FormatInt(*gid, 10)
	case uid != nil:
		return strconv.FormatInt(*uid, 10)
	}
	return imageUser
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// since formats a pull's duration as kubelet's events do.
func since(start time.Time) string {
	return fmt.Sprintf("%.3fs", time.Since(start).Seconds())
}
