package profileclient

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// Condition reports whether a wait is over. p is the profile as it is now,
// nil when it does not exist. An error ends the wait with that error.
type Condition func(p *v1.FargateProfile) (done bool, err error)

// Active returns a Condition that is done when the profile called name is
// ACTIVE. It fails when the profile is CREATE_FAILED, is being deleted, or
// does not exist.
func Active(name string) Condition {
	return func(p *v1.FargateProfile) (bool, error) {
		switch {
		case p == nil:
			return false, fmt.Errorf("Fargate profile %q was deleted before it became %s", name, v1.StateActive)
		case p.Status.Status == v1.StateCreateFailed:
			return false, stateError(p)
		case p.DeletionTimestamp != nil || p.Status.Status == v1.StateDeleting:
			return false, fmt.Errorf("Fargate profile %q is being deleted", name)
		}
		return p.Status.Status == v1.StateActive, nil
	}
}

// Gone returns a Condition that is done when the profile called name no
// longer exists. It fails when the profile is DELETE_FAILED.
func Gone(name string) Condition {
	return func(p *v1.FargateProfile) (bool, error) {
		switch {
		case p == nil:
			return true, nil
		case p.Status.Status == v1.StateDeleteFailed:
			return false, stateError(p)
		}
		return false, nil
	}
}

func stateError(p *v1.FargateProfile) error {
	if p.Status.Message == "" {
		return fmt.Errorf("Fargate profile %q is %s", p.Name, p.Status.Status)
	}
	return fmt.Errorf("Fargate profile %q is %s: %s", p.Name, p.Status.Status, p.Status.Message)
}

// rewatchPause spaces out relists when watches keep failing, so that a
// sick apiserver is not hammered.
const rewatchPause = 500 * time.Millisecond

// WaitFor waits, through c, until cond is done for the profile called name and returns
// the profile as cond last saw it (nil if it did not exist). It returns
// cond's error, an API error from listing or watching, or ctx.Err() when
// ctx ends first (context.DeadlineExceeded for a timeout).
//
// It lists and then watches that one profile from the list's
// resourceVersion, so no change in between is missed, and starts over when
// the watch ends: the apiserver closes watches after a few minutes, and
// expires old resourceVersions.
func WaitFor(ctx context.Context, c *Client, name string, cond Condition) (*v1.FargateProfile, error) {
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	var last *v1.FargateProfile
	for {
		items, resourceVersion, err := c.List(ctx, opts)
		if err != nil {
			return last, err
		}
		last = find(items, name)
		if done, err := cond(last); done || err != nil {
			return last, err
		}
		watchOpts := opts
		watchOpts.ResourceVersion = resourceVersion
		watchOpts.AllowWatchBookmarks = true
		w, err := c.Watch(ctx, watchOpts)
		if err != nil {
			return last, err
		}
		var done bool
		last, done, err = follow(ctx, w, name, last, cond)
		if done || err != nil {
			return last, err
		}
		if err := pause(ctx, rewatchPause); err != nil {
			return last, err
		}
	}
}

// follow feeds the watch's events about name to cond. It returns with done
// false and no error when the watch ends, for the caller to list again.
func follow(ctx context.Context, w watch.Interface, name string, last *v1.FargateProfile, cond Condition) (*v1.FargateProfile, bool, error) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return last, false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return last, false, nil
			}
			p, isProfile := ev.Object.(*v1.FargateProfile)
			// The field selector already filters by name on a real
			// apiserver; checking again keeps fakes honest.
			if ev.Type == watch.Bookmark || !isProfile || p.Name != name {
				continue
			}
			last = p
			if ev.Type == watch.Deleted {
				last = nil
			}
			if done, err := cond(last); done || err != nil {
				return last, done, err
			}
		}
	}
}

func find(profiles []v1.FargateProfile, name string) *v1.FargateProfile {
	for i := range profiles {
		if profiles[i].Name == name {
			return &profiles[i]
		}
	}
	return nil
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
