package reconcile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// calls records the keys reconciled, in order, and signals each.
type calls struct {
	mu   sync.Mutex
	keys []string
	seen chan string
}

func (c *calls) record(key string) {
	c.mu.Lock()
	c.keys = append(c.keys, key)
	c.mu.Unlock()
	c.seen <- key
}

func waitKey(t *testing.T, seen <-chan string, want string) {
	t.Helper()
	select {
	case got := <-seen:
		if got != want {
			t.Fatalf("reconciled %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%q not reconciled", want)
	}
}

func start(t *testing.T, l *Loop[string]) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, 2); close(done) }()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after ctx ended")
		}
	}
}

func TestErrorIsRetriedThenForgotten(t *testing.T) {
	c := &calls{seen: make(chan string, 10)}
	fails := 2
	var l *Loop[string]
	l = NewWithRateLimiter("test", func(_ context.Context, key string) (time.Duration, error) {
		c.record(key)
		if fails > 0 {
			fails--
			return 0, errors.New("not yet")
		}
		return 0, nil
	}, workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second))
	stop := start(t, l)
	defer stop()
	l.Add("a")
	for range 3 {
		waitKey(t, c.seen, "a")
	}
	if n := l.queue.NumRequeues("a"); n != 0 {
		t.Errorf("a succeeded but keeps %d requeues: not forgotten", n)
	}
}

func TestRequeueAfterLooksAgain(t *testing.T) {
	c := &calls{seen: make(chan string, 10)}
	first := true
	l := New("test", func(_ context.Context, key string) (time.Duration, error) {
		c.record(key)
		if first {
			first = false
			return 20 * time.Millisecond, nil
		}
		return 0, nil
	})
	stop := start(t, l)
	defer stop()
	began := time.Now()
	l.Add("b")
	waitKey(t, c.seen, "b")
	waitKey(t, c.seen, "b")
	if d := time.Since(began); d < 20*time.Millisecond {
		t.Errorf("looked again after %v, before the 20ms asked for", d)
	}
}

func TestRunEndsAfterTheKeyInHand(t *testing.T) {
	inside, release := make(chan struct{}), make(chan struct{})
	finished := false
	l := New("test", func(ctx context.Context, key string) (time.Duration, error) {
		close(inside)
		<-release
		finished = true
		return 0, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, 1); close(done) }()
	l.Add("c")
	<-inside
	cancel()
	close(release)
	<-done
	if !finished {
		t.Error("Run returned before its worker finished the key in hand")
	}
}
