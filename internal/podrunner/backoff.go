package podrunner

import (
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Kubelet's restart and image-pull back-off.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 10 * time.Minute
)

// backoffs are per-key exponential delays measured from the last failure.
type backoffs struct {
	now func() time.Time
	mu  sync.Mutex
	by  map[string]time.Duration
}

func newBackoffs(now func() time.Time) *backoffs {
	return &backoffs{now: now, by: map[string]time.Duration{}}
}

// backoffKey names a container's back-off. As a kubelet's, it holds the
// image: a new image starts with no back-off.
func backoffKey(pod *corev1.Pod, spec *corev1.Container) string {
	return string(pod.UID) + "/" + spec.Name + "/" + spec.Image
}

// waiting reports how long the key's current delay is, if it has not
// passed since failedAt. A key with no delay yet does not wait: the first
// retry is immediate.
func (b *backoffs) waiting(key string, failedAt time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.by[key]
	if !ok {
		return 0, false
	}
	return d, b.now().Before(failedAt.Add(d))
}

// next records a retry: the next failure waits twice as long.
func (b *backoffs) next(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.by[key]
	switch {
	case !ok:
		d = backoffInitial
	default:
		d = min(2*d, backoffMax)
	}
	b.by[key] = d
}

func (b *backoffs) reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.by, key)
}

// forget drops every key of the pod uid, once it is gone.
func (b *backoffs) forget(uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.by {
		if strings.HasPrefix(k, string(uid)+"/") || strings.HasPrefix(k, "pull/"+string(uid)+"/") {
			delete(b.by, k)
		}
	}
}
