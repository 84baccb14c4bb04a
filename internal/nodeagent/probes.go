package nodeagent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probes runs the probes of a pod's running containers, one goroutine per
// probe, and keeps their verdicts for the worker.
type probes struct {
	w  *podWorker
	mu sync.Mutex
	by map[string]*containerProbes // by container name
}

type containerProbes struct {
	cancel       context.CancelFunc
	livenessDown bool // failureThreshold reached: restart
}

func newProbes(w *podWorker) *probes { return &probes{w: w, by: map[string]*containerProbes{}} }

// startFor starts c's probes for its current attempt; a container without
// a readiness probe is ready once started.
func (p *probes) startFor(c *container) {
	p.stopFor(c.spec.Name)
	if !c.running() {
		return
	}
	if c.spec.ReadinessProbe == nil {
		c.ready.Store(true)
	}
	if c.spec.StartupProbe == nil && c.spec.LivenessProbe == nil && c.spec.ReadinessProbe == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cp := &containerProbes{cancel: cancel}
	p.mu.Lock()
	p.by[c.spec.Name] = cp
	p.mu.Unlock()
	go p.run(ctx, c, cp)
}

// run probes c: the startup probe until it passes, then liveness and
// readiness side by side.
func (p *probes) run(ctx context.Context, c *container, cp *containerProbes) {
	spec := c.spec
	if spec.StartupProbe != nil {
		if !p.loop(ctx, c, "Startup", spec.StartupProbe, func(ok bool) bool { return !ok }) {
			return
		}
		c.started.Store(true)
		p.w.poke()
	}
	var wg sync.WaitGroup
	if spec.LivenessProbe != nil {
		wg.Go(func() {
			if !p.loop(ctx, c, "Liveness", spec.LivenessProbe, func(bool) bool { return true }) && ctx.Err() == nil {
				p.set(func() { cp.livenessDown = true })
			}
		})
	}
	if spec.ReadinessProbe != nil {
		wg.Go(func() {
			p.loop(ctx, c, "Readiness", spec.ReadinessProbe, func(ok bool) bool {
				if c.ready.Swap(ok) != ok {
					p.w.poke()
				}
				return true
			})
		})
	}
	wg.Wait()
}

// loop probes every period after the initial delay. It counts successes
// and failures against the thresholds, reports each verdict to more, and
// returns false once failureThreshold is reached (true if more said
// stop after a success).
func (p *probes) loop(ctx context.Context, c *container, kind string, probe *corev1.Probe, more func(ok bool) bool) bool {
	period := seconds(probe.PeriodSeconds, 10)
	if !sleep(ctx, seconds(probe.InitialDelaySeconds, 0)) {
		return false
	}
	successes, failures := 0, 0
	for {
		err := p.w.probeOnce(ctx, c, probe.ProbeHandler, seconds(probe.TimeoutSeconds, 1))
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			successes, failures = successes+1, 0
			if successes >= int(max(probe.SuccessThreshold, 1)) && !more(true) {
				return true
			}
		} else {
			successes, failures = 0, failures+1
			p.w.recorder.Eventf(p.w.current(), corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %v", kind, err)
			if failures >= int(max(probe.FailureThreshold, 1)) {
				if kind != "Readiness" {
					return false
				}
				more(false)
			}
		}
		if !sleep(ctx, period) {
			return false
		}
	}
}

// set changes probe verdicts under the lock and wakes the worker.
func (p *probes) set(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
	p.w.poke()
}

func (p *probes) failedLiveness(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cp := p.by[name]
	return cp != nil && cp.livenessDown
}

func (p *probes) stopFor(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp := p.by[name]; cp != nil {
		cp.cancel()
		delete(p.by, name)
	}
}

func (p *probes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, cp := range p.by {
		cp.cancel()
		delete(p.by, name)
	}
}

// probeOnce runs one probe handler against c; nil means success.
func (w *podWorker) probeOnce(ctx context.Context, c *container, h corev1.ProbeHandler, timeout time.Duration) error {
	switch {
	case h.Exec != nil:
		res, err := w.a.cfg.Runtime.Exec(ctx, string(w.uid), c.cur.ID, h.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("command %q exited with %d: %s", h.Exec.Command, res.ExitCode, res.Output)
		}
		return nil
	case h.HTTPGet != nil:
		return w.httpGet(ctx, c, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		return w.tcpSocket(ctx, c, h.TCPSocket, timeout)
	}
	return fmt.Errorf("probe handler not supported on Fargate hosts")
}

// runHook runs a lifecycle handler (exec, httpGet or sleep) for c.
func (w *podWorker) runHook(ctx context.Context, c *container, h *corev1.LifecycleHandler) error {
	timeout := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	switch {
	case h.Sleep != nil:
		sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
		return nil
	case h.Exec != nil:
		return w.probeOnce(ctx, c, corev1.ProbeHandler{Exec: h.Exec}, timeout)
	case h.HTTPGet != nil:
		return w.httpGet(ctx, c, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		return w.tcpSocket(ctx, c, h.TCPSocket, timeout)
	}
	return nil
}

func (w *podWorker) httpGet(ctx context.Context, c *container, g *corev1.HTTPGetAction, timeout time.Duration) error {
	port, err := resolvePort(g.Port, c.spec)
	if err != nil {
		return err
	}
	host := g.Host
	if host == "" {
		host = w.ip.String()
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: g.Path}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/1.36")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

// probeClient does not follow redirects off the pod and skips TLS
// verification, as kubelet's prober does.
var probeClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // as kubelet
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (w *podWorker) tcpSocket(ctx context.Context, c *container, t *corev1.TCPSocketAction, timeout time.Duration) error {
	port, err := resolvePort(t.Port, c.spec)
	if err != nil {
		return err
	}
	host := t.Host
	if host == "" {
		host = w.ip.String()
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

// resolvePort turns a probe's port, a number or a container port's name,
// into a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port %q in container %s", p.StrVal, c.Name)
}

func seconds(n int32, def int) time.Duration {
	if n <= 0 {
		n = int32(def)
	}
	return time.Duration(n) * time.Second
}

// sleep waits d or until ctx ends, and reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
