// Package testwait is the one way tests wait: for a condition to hold,
// polled until a deadline. A test waits for something that is known to
// happen, then asserts; it never sleeps and then asserts that something
// did not happen, since such a test passes whenever the bug is slower
// than the sleep.
package testwait

import (
	"context"
	"testing"
	"time"
)

// Polls start fast, for in-memory fakes that answer in microseconds, and
// back off to maxPoll, so that a real apiserver or a process is not
// hammered during a long wait.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// Eventually calls cond until it returns nil. If timeout passes first, it
// fails t with what and cond's last error. The ctx given to cond ends at
// the timeout, so calls to a server made in cond end with it.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	poll := firstPoll
	for {
		err := cond(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		case <-time.After(poll):
		}
		poll = min(2*poll, maxPoll)
	}
}
