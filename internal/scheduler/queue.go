package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Backoff of pods that found no host (or met an API error): 1 s doubling to
// 30 s, as the spec asks.
const (
	defaultBackoffBase = time.Second
	defaultBackoffMax  = 30 * time.Second
)

type entryState int

const (
	stateReady   entryState = iota // in the heap
	stateWaiting                   // backing off, timer set
	stateBusy                      // popped: being decided or launched by a worker
)

// entry is one pod key in the queue. A key is in exactly one state, so a
// pod is never decided twice at once however many updates arrive.
type entry struct {
	key     string
	created time.Time
	state   entryState
	step    int  // backoff step: the next failure waits delay(step)
	kicked  bool // woken before its backoff ended
	dirty   bool // updated while busy: look again when done
	timer   *time.Timer
	index   int
}

// queue hands out ready pods oldest creationTimestamp first and keeps the
// others backing off. It is safe for concurrent use.
type queue struct {
	mu      sync.Mutex
	entries map[string]*entry
	ready   readyHeap
	wake    chan struct{}
	base    time.Duration
	max     time.Duration
}

func newQueue() *queue {
	return &queue{entries: map[string]*entry{}, wake: make(chan struct{}, 1), base: defaultBackoffBase, max: defaultBackoffMax}
}

// delay is the backoff of step: base·2^step, at most max.
func (q *queue) delay(step int) time.Duration {
	d := q.base
	for i := 0; i < step && d < q.max; i++ {
		d *= 2
	}
	return min(d, q.max)
}

// Add makes key ready now: a new pod, or an update of one we know (which
// ends its backoff early, without counting as a new backoff step).
func (q *queue) Add(key string, created time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[key]
	if !ok {
		e = &entry{key: key, created: created}
		q.entries[key] = e
		q.push(e)
		return
	}
	e.created = created
	switch e.state {
	case stateBusy:
		e.dirty = true
	case stateWaiting:
		e.timer.Stop()
		e.kicked = true
		q.push(e)
	case stateReady:
		heap.Fix(&q.ready, e.index)
	}
}

// Kick ends the backoff of every waiting pod: something changed that may
// give them room (a host, a lease, a freed node).
func (q *queue) Kick() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.entries {
		if e.state == stateWaiting {
			e.timer.Stop()
			e.kicked = true
			q.push(e)
		}
	}
}

// Pop waits for the oldest ready pod; ok is false when ctx ended. kicked
// says the pod was woken early, so a failure is not a new backoff step.
func (q *queue) Pop(ctx context.Context) (key string, kicked, ok bool) {
	for {
		q.mu.Lock()
		if q.ready.Len() > 0 {
			e := heap.Pop(&q.ready).(*entry)
			e.state = stateBusy
			kicked = e.kicked
			e.kicked = false
			q.mu.Unlock()
			return e.key, kicked, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false, false
		case <-q.wake:
		}
	}
}

// Forget ends the work on a busy key: it is placed, unschedulable until
// updated, or gone. A key updated meanwhile is looked at again.
func (q *queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.finishBusy(key)
	if ok {
		delete(q.entries, key)
	}
}

// finishBusy ends an attempt on key. A key updated during the attempt is
// queued again at once (ok false: nothing more to do); ok is also false for
// a key that is not busy. Callers hold q.mu.
func (q *queue) finishBusy(key string) (e *entry, ok bool) {
	e, ok = q.entries[key]
	if !ok || e.state != stateBusy {
		return nil, false
	}
	if e.dirty {
		e.dirty, e.kicked = false, true
		q.push(e)
		return nil, false
	}
	return e, true
}

// Retry backs a busy key off. A kicked attempt waits the current step
// again, so early retries do not run the backoff (and its events) up.
func (q *queue) Retry(key string, kicked bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.finishBusy(key)
	if !ok {
		return
	}
	d := q.delay(e.step)
	if !kicked {
		e.step++
	}
	e.state = stateWaiting
	e.timer = time.AfterFunc(d, func() { q.expire(e) })
}

// RetryNow makes a busy key ready at once, e.g. to try the next IP.
func (q *queue) RetryNow(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.entries[key]; ok && e.state == stateBusy {
		e.dirty, e.kicked = false, true
		q.push(e)
	}
}

// Remove drops key: its pod is gone.
func (q *queue) Remove(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[key]
	if !ok {
		return
	}
	switch e.state {
	case stateReady:
		heap.Remove(&q.ready, e.index)
	case stateWaiting:
		e.timer.Stop()
	}
	delete(q.entries, key)
}

// Len counts the keys in every state.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

func (q *queue) expire(e *entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.entries[e.key] == e && e.state == stateWaiting {
		q.push(e)
	}
}

// push makes e ready; q.mu is held.
func (q *queue) push(e *entry) {
	e.state = stateReady
	heap.Push(&q.ready, e)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// readyHeap orders ready entries by creationTimestamp, then key.
type readyHeap []*entry

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if !h[i].created.Equal(h[j].created) {
		return h[i].created.Before(h[j].created)
	}
	return h[i].key < h[j].key
}
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *readyHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *readyHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
