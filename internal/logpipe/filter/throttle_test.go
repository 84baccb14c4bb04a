package filter

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// passed sends n records and counts those the throttle lets through.
func passed(f logpipe.Filter, n int) int {
	kept := 0
	for i := 0; i < n; i++ {
		kept += len(f.Filter(rec(webTag, map[string]any{"log": fmt.Sprint("line ", i)})))
	}
	return kept
}

func TestThrottleAllowsABurstOfRateTimesWindow(t *testing.T) {
	clock := newClock()
	f := mustNew(t, Deps{Now: clock.Now}, "Name", "throttle", "Match", "*", "Rate", "2", "Window", "5", "Interval", "1s")
	if got := passed(f, 12); got != 10 {
		t.Fatalf("first interval passed %d, want Rate*Window = 10", got)
	}
	// The burst fills the window until its pane slides out.
	for i := 1; i <= 4; i++ {
		clock.Advance(time.Second)
		if got := passed(f, 3); got != 0 {
			t.Fatalf("interval %d passed %d, want 0 while the window average is at the rate", i, got)
		}
	}
	clock.Advance(time.Second)
	if got := passed(f, 12); got != 10 {
		t.Fatalf("after the burst's pane left the window passed %d, want 10", got)
	}
}

func TestThrottleLimitsTheAverageRate(t *testing.T) {
	for _, tc := range []struct{ perSecond, want int }{
		{2, 60}, // at the rate: everything passes
		{4, 60}, // above: at most Rate*Window in any Window intervals
		{1, 30},
	} {
		clock := newClock()
		f := mustNew(t, Deps{Now: clock.Now}, "Name", "throttle", "Rate", "2", "Window", "5", "Interval", "1s")
		total := 0
		for s := 0; s < 30; s++ {
			total += passed(f, tc.perSecond)
			clock.Advance(time.Second)
		}
		if total != tc.want {
			t.Errorf("%d/s for 30s: %d passed, want %d", tc.perSecond, total, tc.want)
		}
	}
}

func TestThrottleIntervalInMinutes(t *testing.T) {
	clock := newClock()
	f := mustNew(t, Deps{Now: clock.Now}, "Name", "throttle", "Rate", "3", "Window", "2", "Interval", "1m")
	if got := passed(f, 10); got != 6 {
		t.Fatalf("passed %d, want 6", got)
	}
	clock.Advance(59 * time.Second)
	if got := passed(f, 1); got != 0 {
		t.Fatalf("within the minute passed %d, want 0", got)
	}
	clock.Advance(2 * time.Minute)
	if got := passed(f, 10); got != 6 {
		t.Fatalf("after a full window passed %d, want 6", got)
	}
}

func TestThrottlePrintStatus(t *testing.T) {
	clock := newClock()
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	f := mustNew(t, Deps{Now: clock.Now, Logf: logf}, "Name", "throttle", "Rate", "2", "Window", "5", "Print_Status", "On")
	passed(f, 10)
	clock.Advance(time.Second)
	passed(f, 1)
	if len(lines) != 1 || !strings.Contains(lines[0], "current rate is: 2 per interval") {
		t.Errorf("status lines = %q", lines)
	}
}

func TestThrottleRefusesBadConfig(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "throttle", "Rate", "lots"), "throttle", "Rate")
	wantErrHas(t, newErr(t, Deps{}, "Name", "throttle", "Interval", "0.5s"), "throttle", "Interval", "1s")
	wantErrHas(t, newErr(t, Deps{}, "Name", "throttle", "Window", "five"), "throttle", "Window")
}
