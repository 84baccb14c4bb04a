package podrunner

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/probe"
	grpcprobe "k8s.io/kubernetes/pkg/probe/grpc"
	httpprobe "k8s.io/kubernetes/pkg/probe/http"
	tcpprobe "k8s.io/kubernetes/pkg/probe/tcp"
)

// The kubelet's own probers (k8s.io/kubernetes/pkg/probe), so that
// redirects, response bodies, gRPC health checks and their messages are
// exactly a kubelet's: an HTTP probe follows redirects on the same host
// and treats one to another host as success with a warning.
var (
	httpProber = httpprobe.New(false)
	tcpProber  = tcpprobe.New()
	grpcProber = grpcprobe.New()
)

// probeWarning marks a probe that passed with a warning (a redirect
// off the pod): the caller records a ProbeWarning event.
type probeWarning struct{ output string }

func (p probeWarning) Error() string { return p.output }

// runProbe runs one probe handler against c as a kubelet's prober does:
// nil on success, a probeWarning on success with a warning, else why it
// failed.
func (w *podWorker) runProbe(ctx context.Context, c *container, h corev1.ProbeHandler, timeout time.Duration) error {
	var (
		result probe.Result
		output string
		err    error
	)
	podIP := w.ip.String()
	switch {
	case h.Exec != nil:
		return w.execProbe(ctx, c, h.Exec.Command, timeout)
	case h.HTTPGet != nil:
		req, rerr := httpprobe.NewRequestForHTTPGetAction(h.HTTPGet, c.spec, podIP, "probe")
		if rerr != nil {
			return rerr
		}
		result, output, err = httpProber.Probe(req, timeout)
	case h.TCPSocket != nil:
		port, perr := probe.ResolveContainerPort(h.TCPSocket.Port, c.spec)
		if perr != nil {
			return perr
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		result, output, err = tcpProber.Probe(host, port, timeout)
	case h.GRPC != nil:
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		result, output, err = grpcProber.Probe(podIP, service, int(h.GRPC.Port), timeout)
	default:
		return fmt.Errorf("missing probe handler for %s:%s", podDesc(w.current()), c.spec.Name)
	}
	switch {
	case err != nil:
		return err
	case result == probe.Success:
		return nil
	case result == probe.Warning:
		return probeWarning{output: output}
	}
	return fmt.Errorf("%s", output)
}

// execProbe runs command in c; a non-zero exit is a failure, as is a
// command that outlives timeout.
func (w *podWorker) execProbe(ctx context.Context, c *container, command []string, timeout time.Duration) error {
	res, err := w.a.cfg.Runtime.Exec(ctx, string(w.uid), c.cur.ID, command, timeout)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("command %q exited with %d: %s", command, res.ExitCode, res.Output)
	}
	return nil
}
