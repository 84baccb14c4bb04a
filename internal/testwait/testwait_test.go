package testwait

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestEventuallyReturnsOnceCondHolds(t *testing.T) {
	calls := 0
	Eventually(t, 10*time.Second, "third call", func(context.Context) error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("cond called %d times, want 3", calls)
	}
}

// recorder is a testing.TB that keeps what Fatalf says instead of ending
// the test; Fatalf ends the goroutine, as testing's does.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

func TestEventuallyFailsWithLastError(t *testing.T) {
	r := &recorder{TB: t}
	var deadline bool
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		Eventually(r, 50*time.Millisecond, "never", func(ctx context.Context) error {
			_, deadline = ctx.Deadline()
			return errors.New("still not")
		})
	}()
	if want := "never: not within 50ms: still not"; r.failed != want {
		t.Errorf("failure %q, want %q", r.failed, want)
	}
	if !deadline {
		t.Error("cond's ctx has no deadline")
	}
}
