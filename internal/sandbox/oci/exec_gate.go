package oci

import (
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// An OCI runtime's exec passes its own stdio to the process it starts,
// so when the process cannot start (a missing binary) the runtime's
// error message arrives on the stream the client reads. The runtime
// writes its pid file once the process runs, and prints nothing after
// that; so output that arrives before the pid file exists is held back,
// and becomes the error when the runtime ends without one.

// gateRecheck is how often held output is checked for release: the
// process may have written before the runtime wrote its pid file, and
// then wait for input.
const gateRecheck = 5 * time.Millisecond

// maxHeld bounds held output: no runtime error is that long, so more
// means the process runs.
const maxHeld = 64 << 10

// startGate is a writer that holds output until the exec'd process is
// known to run.
type startGate struct {
	pidFile string
	w       io.Writer

	mu    sync.Mutex
	open  bool
	done  bool
	held  []byte
	timer *time.Timer
}

func newStartGate(pidFile string, w io.Writer) *startGate {
	if w == nil {
		w = io.Discard
	}
	return &startGate{pidFile: pidFile, w: w}
}

func (g *startGate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open && (fileExists(g.pidFile) || len(g.held)+len(p) > maxHeld) {
		g.release()
	}
	if g.open {
		return g.w.Write(p)
	}
	g.held = append(g.held, p...)
	if g.timer == nil {
		g.timer = time.AfterFunc(gateRecheck, g.recheck)
	}
	return len(p), nil
}

// recheck releases held output once the pid file exists.
func (g *startGate) recheck() {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.open || g.done:
	case fileExists(g.pidFile):
		g.release()
	default:
		g.timer.Reset(gateRecheck)
	}
}

// running releases held output: the process is known to run.
func (g *startGate) running() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.release()
	}
}

// release writes what is held and lets later writes through; with mu.
func (g *startGate) release() {
	g.open = true
	if len(g.held) > 0 {
		_, _ = g.w.Write(g.held)
		g.held = nil
	}
}

// finish is called once the runtime ended and its output was copied. It
// returns the held output, the runtime's message, when the process never
// started; otherwise it releases it and returns nil.
func (g *startGate) finish(started bool) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = true
	if g.timer != nil {
		g.timer.Stop()
	}
	if started || g.open {
		g.release()
		return nil
	}
	held := g.held
	g.held = nil
	return held
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ansiEscape matches terminal colour codes (logrus colours its lines on
// a terminal); logrusLevel the level prefix of its terminal format.
var (
	ansiEscape  = regexp.MustCompile(`\x1b\[[0-9;]*[a-zA-Z]`)
	logrusLevel = regexp.MustCompile(`^(ERRO|FATA|WARN|INFO)\[[0-9]+\] *`)
)

// runtimeMessage is the text of a runtime's error output: runc logs
// through logrus, as `time=... level=error msg="..."` on a pipe and as
// `ERRO[0000] ...` in colour on a terminal; other lines are kept.
func runtimeMessage(out []byte) string {
	var lines []string
	for _, line := range strings.Split(ansiEscape.ReplaceAllString(string(out), ""), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if _, quoted, ok := strings.Cut(line, " msg="); ok {
			if q, err := strconv.QuotedPrefix(quoted); err == nil {
				line, _ = strconv.Unquote(q)
			}
		}
		if line = logrusLevel.ReplaceAllString(line, ""); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}
