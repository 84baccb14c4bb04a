package podrunner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	httpprobe "k8s.io/kubernetes/pkg/probe/http"
)

// runHook runs a lifecycle handler (exec, httpGet or sleep) for c as a
// kubelet's handler runner does; ctx bounds it.
func (w *podWorker) runHook(ctx context.Context, c *container, h *corev1.LifecycleHandler) error {
	switch {
	case h.Exec != nil:
		timeout := 30 * time.Second
		if d, ok := ctx.Deadline(); ok {
			timeout = time.Until(d)
		}
		return w.execProbe(ctx, c, h.Exec.Command, timeout)
	case h.HTTPGet != nil:
		return w.httpHook(ctx, c, h.HTTPGet)
	case h.Sleep != nil:
		sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
		return nil
	}
	return fmt.Errorf("invalid handler: %v", h)
}

// hookClient is kubelet's lifecycle HTTP client: no TLS verification,
// redirects followed on the same host only.
var hookClient = &http.Client{
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // as kubelet
	CheckRedirect: httpprobe.RedirectChecker(false),
}

// httpHook sends the hook's GET as a kubelet does: the path may carry a
// query, any response counts as success, and an HTTPS hook answered in
// plain HTTP is retried over HTTP, with a warning event.
func (w *podWorker) httpHook(ctx context.Context, c *container, g *corev1.HTTPGetAction) error {
	req, err := httpprobe.NewRequestForHTTPGetAction(g, c.spec, w.ip.String(), "lifecycle")
	if err != nil {
		return err
	}
	req = req.WithContext(ctx)
	resp, err := hookClient.Do(req)
	discardBody(resp)
	if !plainHTTPAnswer(err) {
		return err
	}
	req = req.Clone(ctx)
	req.URL.Scheme = "http"
	req.Header.Del("Authorization")
	resp, httpErr := hookClient.Do(req)
	discardBody(resp)
	if httpErr != nil {
		return err
	}
	w.recorder.Event(w.current(), corev1.EventTypeWarning, "LifecycleHTTPFallback",
		fmt.Sprintf("request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", req.URL.Host))
	return nil
}

func discardBody(resp *http.Response) {
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
}

// plainHTTPAnswer reports an HTTPS request that a plain HTTP server answered.
func plainHTTPAnswer(err error) bool {
	var urlErr *url.Error
	return errors.As(err, &urlErr) && strings.Contains(urlErr.Err.Error(), "server gave HTTP response to HTTPS client")
}
