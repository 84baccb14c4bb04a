package containerlog

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newHost makes a pod log directory with one attempt's log, written by a
// test shim that writes nothing itself and reopens when asked.
func newHost(t *testing.T) *fakeHost {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app", "0.log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fakeHost{c: Container{PodUID: "uid-1", ID: "ctr-1", LogPath: path}, shim: startShim(t, path, 0, 0)}
}

func newRotator(t *testing.T, h *fakeHost, cfg RotatorConfig) *Rotator {
	t.Helper()
	r, err := NewRotator(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.now = ticking(base)
	return r
}

// dirFiles lists the names in the log's directory.
func dirFiles(t *testing.T, log string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(log))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// content reads a log file, gunzipping a rotated .gz one.
func content(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not gzip: %v", path, err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fill appends a round's worth of lines, more than 100 bytes.
func fill(t *testing.T, path string, round int) string {
	t.Helper()
	var es []entry
	for i := range 4 {
		es = append(es, entry{base, "stdout", true, fmt.Sprintf("round %d line %d", round, i)})
	}
	appendLog(t, path, es...)
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.String())
	}
	return b.String()
}

func TestRotatorLeavesLogsUnderMaxSize(t *testing.T) {
	h := newHost(t)
	fill(t, h.c.LogPath, 0)
	for _, size := range []int64{10 << 10, -1} { // under the limit; rotation off
		if err := newRotator(t, h, RotatorConfig{MaxSize: size}).RotateOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := dirFiles(t, h.c.LogPath); !slices.Equal(got, []string{"0.log"}) || len(h.reopens()) != 0 {
		t.Errorf("files %v, %d reopens; want the log alone and no reopen", got, len(h.reopens()))
	}
}

func TestRotatorRotatesCompressesAndKeepsMaxFiles(t *testing.T) {
	h := newHost(t)
	r := newRotator(t, h, RotatorConfig{MaxSize: 100, MaxFiles: 3})
	var rounds []string
	for round := range 5 {
		rounds = append(rounds, fill(t, h.c.LogPath, round))
		if err := r.RotateOnce(context.Background()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := len(dirFiles(t, h.c.LogPath)); n > 3 {
			t.Fatalf("round %d: %d files, MaxFiles is 3", round, n)
		}
	}
	if n := len(h.reopens()); n != 5 {
		t.Errorf("%d reopens, want one per rotation (5)", n)
	}
	// Rotations 4 and 5 are kept, stamped with the (fake) clock's 4th and
	// 5th seconds; the older is compressed, the newest not yet.
	want := []string{"0.log", "0.log.20240102-030409.gz", "0.log.20240102-030410"}
	if got := dirFiles(t, h.c.LogPath); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	dir := filepath.Dir(h.c.LogPath)
	if got := content(t, filepath.Join(dir, want[1])); got != rounds[3] {
		t.Errorf("%s holds %q, want round 3's lines %q", want[1], got, rounds[3])
	}
	if got := content(t, filepath.Join(dir, want[2])); got != rounds[4] {
		t.Errorf("%s holds %q, want round 4's lines %q", want[2], got, rounds[4])
	}
	if got := content(t, h.c.LogPath); got != "" {
		t.Errorf("the reopened log holds %q, want it empty", got)
	}
}

func TestRotatorUndoesRotationWhenReopenFails(t *testing.T) {
	h := newHost(t)
	h.failed = errNoShim
	lines := fill(t, h.c.LogPath, 0)
	err := newRotator(t, h, RotatorConfig{MaxSize: 100}).RotateOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), errNoShim.Error()) {
		t.Errorf("RotateOnce = %v, want the reopen's error", err)
	}
	if got := dirFiles(t, h.c.LogPath); !slices.Equal(got, []string{"0.log"}) || content(t, h.c.LogPath) != lines {
		t.Errorf("files %v; want the log back in place with its lines", got)
	}
}

func TestRotatorReopensMissingLog(t *testing.T) {
	h := newHost(t)
	if err := os.Remove(h.c.LogPath); err != nil {
		t.Fatal(err)
	}
	if err := newRotator(t, h, RotatorConfig{}).RotateOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.c.LogPath); err != nil || len(h.reopens()) != 1 {
		t.Errorf("log: %v, %d reopens; want the writer to have recreated it", err, len(h.reopens()))
	}
}

func TestRotatorRemovesLeftoversOfInterruptedCompression(t *testing.T) {
	h := newHost(t)
	dir := filepath.Dir(h.c.LogPath)
	for _, name := range []string{"0.log.20240101-000000", "0.log.20240101-000000.gz", "0.log.20240101-000001.tmp", "1.log.20240101-000000"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, h.c.LogPath, 0)
	if err := newRotator(t, h, RotatorConfig{MaxSize: 100}).RotateOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Another attempt's rotated log (1.log.*) is not this log's to touch.
	want := []string{"0.log", "0.log.20240101-000000.gz", "0.log.20240102-030406", "1.log.20240101-000000"}
	if got := dirFiles(t, h.c.LogPath); !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

func TestRotatorWaitsRatherThanReuseAName(t *testing.T) {
	h := newHost(t)
	r := newRotator(t, h, RotatorConfig{MaxSize: 100})
	r.now = func() time.Time { return base }
	for round := range 2 {
		fill(t, h.c.LogPath, round)
		if err := r.RotateOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The second rotation would have been stamped with the same second.
	want := []string{"0.log", "0.log.20240102-030405"}
	if got := dirFiles(t, h.c.LogPath); !slices.Equal(got, want) || len(h.reopens()) != 1 {
		t.Errorf("files %v, %d reopens; want %v and 1", got, len(h.reopens()), want)
	}
}

func TestNewRotatorDefaultsAndRefusals(t *testing.T) {
	h := &fakeHost{}
	r, err := NewRotator(h, RotatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (RotatorConfig{MaxSize: 10 << 20, MaxFiles: 5, Interval: 10 * time.Second}); r.cfg != want {
		t.Errorf("defaults %+v, want the kubelet's %+v", r.cfg, want)
	}
	for _, cfg := range []RotatorConfig{{MaxFiles: 1}, {Interval: -time.Second}} {
		if _, err := NewRotator(h, cfg); err == nil {
			t.Errorf("NewRotator(%+v) accepted it", cfg)
		}
	}
}

func TestRunRotatesUntilCancelled(t *testing.T) {
	h := newHost(t)
	r := newRotator(t, h, RotatorConfig{MaxSize: 100, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	go func() { r.Run(ctx); close(ran) }()
	for round := 0; len(h.reopens()) < 2; round++ {
		if round > 1000 {
			t.Fatal("Run did not rotate a log over MaxSize twice within 10 s")
		}
		// Between a rename and the reopen the log briefly does not exist.
		if data, err := os.ReadFile(h.c.LogPath); err == nil && len(data) == 0 {
			fill(t, h.c.LogPath, round)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run went on after its context was cancelled")
	}
}

// A follower of the log sees every line exactly once while the log is
// rotated under a writer that keeps writing, each rotation coming after
// the follower has reached the file made by the previous one (the kubelet
// rotates every 10 s at most).
func TestFollowAcrossRotationLosesNothing(t *testing.T) {
	const n = 1000
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path)
	var running atomic.Bool
	running.Store(true)
	waiting := make(chan struct{})
	var once atomic.Bool
	isRunning := func() bool {
		if once.CompareAndSwap(false, true) {
			close(waiting) // the follower reached the end and watches the log
		}
		return running.Load()
	}
	stdout := newOutput()
	done := following(context.Background(), path, isRunning, stdout, stdout)
	<-waiting

	h := &fakeHost{c: Container{PodUID: "uid-1", ID: "ctr-1", LogPath: path}}
	h.shim = startShim(t, path, n, 100*time.Microsecond)
	r := newRotator(t, h, RotatorConfig{MaxSize: 2 << 10, MaxFiles: 3})
	rotateWhileWriting(t, r, h, stdout, n)

	stdout.waitFor(t, lineText(n-1)+"\n")
	running.Store(false)
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Read: %v", err)
	}
	var want strings.Builder
	for i := range n {
		want.WriteString(lineText(i) + "\n")
	}
	if got := stdout.String(); got != want.String() {
		t.Errorf("the follower saw %d bytes, want %d: lines lost or repeated", len(got), want.Len())
	}
	t.Logf("%d rotations", len(h.reopens()))
	if rotations := len(h.reopens()); rotations < 5 {
		t.Errorf("only %d rotations happened; the test needs several", rotations)
	}
}

// rotateWhileWriting rotates until the shim has written all its lines,
// each time after the follower has shown the first line of the file the
// previous rotation made.
func rotateWhileWriting(t *testing.T, r *Rotator, h *fakeHost, follower *output, n int) {
	t.Helper()
	for {
		select {
		case <-h.shim.wrote:
			return
		default:
		}
		before := len(h.reopens())
		if err := r.RotateOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		reopens := h.reopens()
		if len(reopens) == before {
			time.Sleep(time.Millisecond) // the log is not full yet
			continue
		}
		if first := reopens[len(reopens)-1]; first < n {
			follower.waitFor(t, lineText(first))
		}
	}
}
