package profileclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

func TestConditions(t *testing.T) {
	deleting := fp("a", v1.StateActive, "game")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	failed := fp("a", v1.StateCreateFailed, "game")
	failed.Status.Message = "no addresses left in 10.10.0.0/28"
	tests := []struct {
		name     string
		cond     Condition
		p        *v1.FargateProfile
		wantDone bool
		wantErr  string
	}{
		{"active: ACTIVE", Active("a"), fp("a", v1.StateActive, "game"), true, ""},
		{"active: CREATING", Active("a"), fp("a", v1.StateCreating, "game"), false, ""},
		{"active: no status yet", Active("a"), fp("a", "", "game"), false, ""},
		{"active: CREATE_FAILED", Active("a"), failed, false, `Fargate profile "a" is CREATE_FAILED: no addresses left in 10.10.0.0/28`},
		{"active: being deleted", Active("a"), deleting, false, `Fargate profile "a" is being deleted`},
		{"active: gone", Active("a"), nil, false, `Fargate profile "a" was deleted before it became ACTIVE`},
		{"gone: gone", Gone("a"), nil, true, ""},
		{"gone: DELETING", Gone("a"), fp("a", v1.StateDeleting, "game"), false, ""},
		{"gone: DELETE_FAILED", Gone("a"), fp("a", v1.StateDeleteFailed, "game"), false, `Fargate profile "a" is DELETE_FAILED`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := tt.cond(tt.p)
			if done != tt.wantDone || errString(err) != tt.wantErr {
				t.Errorf("got (%v, %q), want (%v, %q)", done, errString(err), tt.wantDone, tt.wantErr)
			}
		})
	}
}

// TestWaitFor makes its change once WaitFor watches, as the profile
// controller would; the fake does not replay deletions that happen between
// a list and a watch, which a real apiserver does.
func TestWaitFor(t *testing.T) {
	tests := []struct {
		name    string
		initial *v1.FargateProfile
		change  func(ctx context.Context, c *Client) error
		cond    Condition
		wantErr string
	}{
		{
			name:    "already active",
			initial: fp("a", v1.StateActive, "game"),
			cond:    Active("a"),
		},
		{
			name:    "becomes active",
			initial: fp("a", v1.StateCreating, "game"),
			change:  setStatus("a", v1.StateActive),
			cond:    Active("a"),
		},
		{
			name:    "fails",
			initial: fp("a", v1.StateCreating, "game"),
			change:  setStatus("a", v1.StateCreateFailed),
			cond:    Active("a"),
			wantErr: `Fargate profile "a" is CREATE_FAILED`,
		},
		{
			name:    "goes away",
			initial: fp("a", v1.StateDeleting, "game"),
			change:  func(ctx context.Context, c *Client) error { return c.Delete(ctx, "a") },
			cond:    Gone("a"),
		},
		{
			name: "never existed",
			cond: Gone("a"),
		},
		{
			name:    "times out",
			initial: fp("a", v1.StateCreating, "game"),
			change:  setStatus("other", v1.StateActive),
			cond:    Active("a"),
			wantErr: context.DeadlineExceeded.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var initial []*v1.FargateProfile
			if tt.initial != nil {
				initial = append(initial, tt.initial, fp("other", v1.StateCreating, "web"))
			}
			dyn, c := newFake(t, initial...)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			changed := make(chan error, 1)
			if tt.change != nil {
				onFirstWatch(dyn, func() { changed <- tt.change(ctx, c) })
			}
			_, err := WaitFor(ctx, c, "a", tt.cond)
			if got := errString(err); !strings.Contains(got, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
				t.Errorf("WaitFor error %q, want %q", got, tt.wantErr)
			}
			if tt.change != nil {
				if err := <-changed; err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("change: %v", err)
				}
			}
		})
	}
}

// onFirstWatch runs f in a goroutine once the first watch is in place. f
// may use the client: the fake holds its lock only until the watch exists.
func onFirstWatch(dyn *fake.FakeDynamicClient, f func()) {
	var once sync.Once
	dyn.PrependWatchReactor("*", func(action clienttesting.Action) (bool, watch.Interface, error) {
		opts := action.(clienttesting.WatchActionImpl).ListOptions
		w, err := dyn.Tracker().Watch(action.GetResource(), action.GetNamespace(), opts)
		once.Do(func() { go f() })
		return true, w, err
	})
}

func setStatus(name string, state v1.ProfileState) func(context.Context, *Client) error {
	return func(ctx context.Context, c *Client) error {
		p, err := c.Get(ctx, name)
		if err != nil {
			return err
		}
		p.Status.Status = state
		_, err = c.UpdateStatus(ctx, p)
		return err
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
