// Package heaptrim hands the memory a long-running fargo process has freed
// back to the kernel. Go's collector lets the heap grow to twice what is
// live before it collects (GOGC=100), and its scavenger returns freed
// pages only slowly: fargo's control plane, whose live heap is about
// 110 MiB at idle (most of it the apiserver's OpenAPI documents), sat at
// twice that in resident memory that nobody used. Run collects and returns
// what is free every Period instead. At idle that costs one collection
// (about 80 ms of CPU here) per Period; under load the collector runs far
// more often than that anyway, so the pacing of a busy process is Go's own.
package heaptrim

import (
	"context"
	"os"
	"runtime/debug"
	"time"
)

// Period is how often Run trims.
const Period = 30 * time.Second

// OffEnv, set to "off", turns Run off (to compare, or to leave the pacing
// to GOGC and GOMEMLIMIT alone).
const OffEnv = "FARGO_HEAPTRIM"

// Run trims every period until ctx ends. The first trim comes a period
// after the start, when what the start built and dropped is garbage.
func Run(ctx context.Context, period time.Duration) {
	if os.Getenv(OffEnv) == "off" {
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			debug.FreeOSMemory()
		}
	}
}
