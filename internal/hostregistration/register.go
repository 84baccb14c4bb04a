package hostregistration

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
)

// register creates the Host, or brings an existing one's spec up to date
// (a restarted agent keeps its Host, and a changed flag takes effect), then
// writes status.nodeInfo. Conditions are the server's and are left alone.
// Errors that a retry cannot fix end it; others (the apiserver restarting,
// a conflict) are logged and retried every RenewInterval.
func register(ctx context.Context, cfg Config) error {
	var refused error
	err := wait.PollUntilContextCancel(ctx, cfg.RenewInterval, true, func(ctx context.Context) (bool, error) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error { return registerOnce(ctx, cfg) })
		switch {
		case err == nil:
			return true, nil
		case isRefusal(err):
			refused = err
			return false, err
		default:
			cfg.Log.Error(err, "Registering the host failed, will retry")
			return false, nil
		}
	})
	switch {
	case refused != nil:
		return explainRefusal(cfg.Name, refused)
	case err != nil:
		return fmt.Errorf("host %q: registration did not finish: %w", cfg.Name, err)
	}
	cfg.Log.Info("Host registered", "zone", cfg.Spec.Zone, "tiers", cfg.Spec.Tiers, "podCIDRs", cfg.Spec.PodCIDRs)
	return nil
}

func registerOnce(ctx context.Context, cfg Config) error {
	h, err := ensureHost(ctx, cfg)
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(h.Status.NodeInfo, cfg.NodeInfo) && equality.Semantic.DeepEqual(h.Status.Tiers, cfg.TierStatus) {
		return nil
	}
	h.Status.NodeInfo = cfg.NodeInfo
	h.Status.Tiers = cfg.TierStatus
	_, err = cfg.Hosts.UpdateStatus(ctx, h)
	return err
}

// ensureHost returns the Host called cfg.Name with cfg.Spec, creating or
// updating it as needed.
func ensureHost(ctx context.Context, cfg Config) (*v1.Host, error) {
	h, err := cfg.Hosts.Get(ctx, cfg.Name)
	if apierrors.IsNotFound(err) {
		return cfg.Hosts.Create(ctx, &v1.Host{ObjectMeta: metav1.ObjectMeta{Name: cfg.Name}, Spec: cfg.Spec})
	}
	if err != nil || equality.Semantic.DeepEqual(h.Spec, cfg.Spec) {
		return h, err
	}
	cfg.Log.Info("Updating the spec of the existing Host")
	h.Spec = cfg.Spec
	return cfg.Hosts.Update(ctx, h)
}

// isRefusal reports whether the apiserver said no in a way that asking
// again will not change.
func isRefusal(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) ||
		apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsMethodNotSupported(err)
}

// explainRefusal says what to do about a refusal. NotFound can only mean
// that the resource itself is missing: a missing Host is created.
func explainRefusal(name string, err error) error {
	switch {
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return fmt.Errorf("host %q: the apiserver refused this agent's credentials for %s (%w): join the host again with a valid token, or check that its credentials belong to this host", name, hostclient.GVR.GroupResource(), err)
	case apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
		return fmt.Errorf("host %q: the apiserver does not serve %s (%w): is this a fargo server?", name, hostclient.GVR.GroupResource(), err)
	default:
		return fmt.Errorf("host %q: the apiserver rejected the Host (%w): check the agent's flags", name, err)
	}
}

// heartbeat renews the host's Lease every RenewInterval until ctx ends.
// A failed renewal is logged and tried again at the next tick: the Lease
// lasts four intervals.
func (a *agent) heartbeat(ctx context.Context) {
	s := hostLease(a.cfg.Name)
	every(ctx, a.cfg.RenewInterval, func() {
		if err := a.leases.renew(ctx, s); err != nil && ctx.Err() == nil {
			a.log.Error(err, "Renewing the host Lease failed, will retry", "lease", s.key())
		}
	})
}
