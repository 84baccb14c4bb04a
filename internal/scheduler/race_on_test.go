//go:build race

package scheduler

// raceEnabled: the race detector slows everything down several times, so
// timing assertions are off.
const raceEnabled = true
