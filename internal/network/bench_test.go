package network

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkAttachDetach measures one pod's network setup and removal; Attach
// sits on the pod start path (goal: p50 pod start ≤ 250 ms end to end).
func BenchmarkAttachDetach(b *testing.B) {
	h := newTestHost(b, "10.99.0.0/24")
	ctx := context.Background()
	ip := netip.MustParseAddr("10.99.0.10")
	var attach, detach time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := h.Attach(ctx, "bench-pod", ip); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := h.Detach(ctx, "bench-pod"); err != nil {
			b.Fatal(err)
		}
		attach += mid.Sub(start)
		detach += time.Since(mid)
	}
	b.ReportMetric(float64(attach.Microseconds())/float64(b.N), "attach-µs/op")
	b.ReportMetric(float64(detach.Microseconds())/float64(b.N), "detach-µs/op")
}
