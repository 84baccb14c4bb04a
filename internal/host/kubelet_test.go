package host

import (
	"testing"
	"time"
)

// TestCertPacerWaitsForStartsToEnd: serving certificates are requested
// when the host starts no pod, and while pods keep starting, once per
// wait, so that a burst of starts does not also run a CSR per pod.
func TestCertPacerWaitsForStartsToEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := certPacer{wait: 10 * time.Second, quiet: 2 * time.Second}
	steps := []struct {
		at       time.Duration
		starting int
		want     bool
	}{
		{0, 0, true},                 // idle: at once
		{1 * time.Second, 40, false}, // a burst begins: wait
		{2 * time.Second, 0, false},  // a moment without a start is not quiet yet
		{5 * time.Second, 20, false},
		{11 * time.Second, 5, true},  // starting for a whole wait: once
		{12 * time.Second, 5, false}, // and then a wait again
		{21 * time.Second, 3, true},
		{22 * time.Second, 0, false},
		{23 * time.Second, 0, true}, // quiet for 2 s: the burst is over
		{24 * time.Second, 0, true},
		{25 * time.Second, 1, false},
	}
	for _, s := range steps {
		if got := p.due(t0.Add(s.at), s.starting); got != s.want {
			t.Errorf("at %v with %d pods starting: due = %v, want %v", s.at, s.starting, got, s.want)
		}
	}
}
