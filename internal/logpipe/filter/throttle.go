package filter

import (
	"strconv"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// throttle drops records beyond a rate, with Fluent Bit's sliding window:
// the window is a ring of Window panes, one per Interval; a record counts
// in the current pane, and is dropped while the sum of all panes divided
// by Window is at least Rate. Each Interval a new pane replaces the
// oldest, so a burst is allowed up to Rate*Window and then the average
// must fall before more pass.
//
// Fluent Bit moves to the next pane on a ticker thread; here the panes
// advance when a record arrives, by the number of whole Intervals since
// the filter started, which is the same window at the moment it counts.
type throttle struct {
	rate     float64
	window   int
	interval time.Duration
	status   bool
	deps     Deps

	start time.Time
	tick  int64 // the Interval the current pane belongs to
	panes []int
}

// Fluent Bit's defaults, which it also takes in place of a Rate or
// Window of 1 or less.
const (
	throttleDefaultRate   = 1
	throttleDefaultWindow = 5
)

func newThrottle(p logpipe.Params, deps Deps) (*throttle, error) {
	t := &throttle{deps: deps}
	var err error
	if t.rate, err = floatParam(p, "Rate", throttleDefaultRate); err != nil {
		return nil, err
	}
	if t.window, err = p.Int("Window", throttleDefaultWindow); err != nil {
		return nil, errorf("throttle", "%v", err)
	}
	// filter_throttle.c replaces Rate <= 1 and Window <= 1 by the
	// defaults; a Window 1 is therefore a window of 5 in Fluent Bit too.
	if t.rate <= 1 {
		t.rate = throttleDefaultRate
	}
	if t.window <= 1 {
		t.window = throttleDefaultWindow
	}
	if t.interval, err = p.Duration("Interval", time.Second); err != nil {
		return nil, errorf("throttle", "%v", err)
	}
	// Fluent Bit's ticker sleeps whole seconds: 1.5m is 90s, and anything
	// under a second would spin.
	t.interval = t.interval.Truncate(time.Second)
	if t.interval <= 0 {
		return nil, errorf("throttle", "Interval %q is under one second: write 1s or more", p.String("Interval", ""))
	}
	if t.status, err = boolParam(p, "throttle", "Print_Status", false); err != nil {
		return nil, err
	}
	t.start = deps.now()
	t.panes = make([]int, t.window)
	return t, nil
}

func floatParam(p logpipe.Params, key string, def float64) (float64, error) {
	v, ok := p.Get(key)
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return def, errorf("throttle", "%s is %q: write a number of records", key, v)
	}
	return f, nil
}

func (t *throttle) Filter(rec logpipe.Record) []logpipe.Record {
	t.advance()
	if float64(t.total())/float64(t.window) >= t.rate {
		return nil
	}
	t.panes[t.tick%int64(t.window)]++
	return []logpipe.Record{rec}
}

// advance opens a fresh pane for every Interval passed since the last
// record, dropping the oldest each time.
func (t *throttle) advance() {
	now := t.deps.now().Sub(t.start) / t.interval
	if int64(now) <= t.tick {
		return
	}
	steps := int64(now) - t.tick
	if steps > int64(t.window) {
		steps = int64(t.window) // past a full window every pane is fresh
	}
	for i := int64(1); i <= steps; i++ {
		t.panes[(int64(now)-steps+i)%int64(t.window)] = 0
	}
	t.tick = int64(now)
	if t.status {
		t.deps.logf("throttle: limit is %.2f per %s with window size of %d, current rate is: %d per interval",
			t.rate, t.interval, t.window, t.total()/t.window)
	}
}

func (t *throttle) total() int {
	n := 0
	for _, c := range t.panes {
		n += c
	}
	return n
}
