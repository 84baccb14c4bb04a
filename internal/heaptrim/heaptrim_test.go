package heaptrim

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/testwait"
)

// released is how much heap memory the runtime has returned to the kernel.
func released() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

func TestRunReturnsFreedMemory(t *testing.T) {
	t.Setenv(OffEnv, "")
	// 64 MiB the heap held and then freed: without a trim, Go keeps
	// most of it mapped for the next allocation.
	sink = make([]byte, 64<<20)
	for i := range sink {
		sink[i] = 1
	}
	sink = nil
	runtime.GC()
	before := released()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 10*time.Millisecond); close(done) }()
	testwait.Eventually(t, 10*time.Second, "freed heap released", func(context.Context) error {
		if got := released(); got < before+32<<20 {
			return context.DeadlineExceeded
		}
		return nil
	})
	cancel()
	<-done
}

func TestRunIsOff(t *testing.T) {
	t.Setenv(OffEnv, "off")
	done := make(chan struct{})
	// With no ctx end in sight, only "off" makes Run return.
	go func() { Run(context.Background(), time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept trimming with FARGO_HEAPTRIM=off")
	}
}
