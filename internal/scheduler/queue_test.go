package scheduler

import (
	"context"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	q := newQueue()
	for step, want := range []time.Duration{1, 2, 4, 8, 16, 30, 30, 30} {
		if got := q.delay(step); got != want*time.Second {
			t.Errorf("step %d: %v, want %v", step, got, want*time.Second)
		}
	}
}

func popKey(t *testing.T, q *queue) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	key, kicked, ok := q.Pop(ctx)
	if !ok {
		t.Fatal("nothing ready")
	}
	return key, kicked
}

func TestQueueOldestFirst(t *testing.T) {
	q := newQueue()
	t0 := time.Now()
	q.Add("young", t0.Add(2*time.Second))
	q.Add("old", t0)
	q.Add("middle", t0.Add(time.Second))
	for _, want := range []string{"old", "middle", "young"} {
		if got, _ := popKey(t, q); got != want {
			t.Errorf("popped %s, want %s", got, want)
		}
	}
}

func TestQueueRetry(t *testing.T) {
	tests := []struct {
		name       string
		act        func(q *queue)
		wantKicked bool
		wantStep   int
	}{
		{"backoff ends", func(q *queue) {}, false, 1},
		{"kick ends it early", func(q *queue) { q.Kick() }, true, 1},
		{"update ends it early", func(q *queue) { q.Add("p", time.Now()) }, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			q.base = 50 * time.Millisecond
			q.Add("p", time.Now())
			popKey(t, q)
			// Timed from the Retry, where the backoff begins: a loaded
			// machine may take a while to reach the pop.
			retried := time.Now()
			q.Retry("p", false)
			tt.act(q)
			_, kicked := popKey(t, q)
			if kicked != tt.wantKicked {
				t.Errorf("kicked = %v, want %v", kicked, tt.wantKicked)
			}
			if waited := time.Since(retried); !kicked && waited < q.base {
				t.Errorf("ready %v after the retry, before its %v backoff", waited, q.base)
			}
			if step := q.entries["p"].step; step != tt.wantStep {
				t.Errorf("step %d, want %d", step, tt.wantStep)
			}
		})
	}
}

func TestQueueBusyKeyNotHandedTwice(t *testing.T) {
	q := newQueue()
	q.Add("p", time.Now())
	popKey(t, q)
	q.Add("p", time.Now()) // update while busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if key, _, ok := q.Pop(ctx); ok {
		t.Fatalf("popped busy key %s", key)
	}
	q.Forget("p")
	if key, _ := popKey(t, q); key != "p" {
		t.Errorf("updated key not looked at again")
	}
	q.Forget("p")
	q.Remove("p")
	if q.Len() != 0 {
		t.Errorf("%d keys left", q.Len())
	}
}
