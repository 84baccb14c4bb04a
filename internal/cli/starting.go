package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/profileclient"
)

// startingTimeout bounds the wait for a starting fargo to serve its API.
var startingTimeout = 2 * time.Minute

// connect is profiles() once the cluster serves fargo's API.
func (f *clientFlags) connect(ctx context.Context, errOut io.Writer) (*profileclient.Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	cfg, err := f.readyConfig(ctx, errOut)
	if err != nil {
		return nil, err
	}
	return profileclient.NewForConfig(cfg)
}

// readyConfig is restConfig() once the cluster serves fargo's API: a verb
// run while `fargo up` is still starting waits for it, with one line on
// errOut, instead of failing because the CRDs are not there yet.
func (f *clientFlags) readyConfig(ctx context.Context, errOut io.Writer) (*rest.Config, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	return cfg, awaitFargo(ctx, cfg, errOut)
}

// awaitFargo waits while the apiserver's fargo readyz check fails. Any
// other answer ends the wait at once: a cluster that cannot be reached or
// that has no such check (not fargo's) gets the verb's own error.
func awaitFargo(ctx context.Context, cfg *rest.Config, errOut io.Writer) error {
	quick := rest.CopyConfig(cfg)
	quick.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(quick)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, startingTimeout)
	defer cancel()
	said := false
	for {
		var code int
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz", controlplane.ReadyzCheck).Do(ctx).StatusCode(&code).Raw()
		if err == nil || code != http.StatusInternalServerError {
			return nil
		}
		if !said {
			fmt.Fprintf(errOut, "waiting for fargo to finish starting (%s)\n", reason(body, err))
			said = true
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("fargo did not finish starting within %s (%s): see its log, <data-dir>/logs/server.log", startingTimeout, reason(body, err))
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// reason is what the failing check said.
func reason(body []byte, err error) string {
	if len(body) > 0 {
		return string(bytes.TrimSpace(body))
	}
	return err.Error()
}
