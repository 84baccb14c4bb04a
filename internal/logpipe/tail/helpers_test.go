package tail

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testLog is a container log laid out as fargo lays it out: the file under
// pods/, the symlink under containers/. It writes entries with a clock
// that advances 1ms per entry, and rotates by hand the way containerlog's
// Rotator does, with stamps a test controls.
type testLog struct {
	t     testing.TB
	path  string // pods/<ns>_<pod>_<uid>/<container>/0.log
	link  string // containers/<pod>_<ns>_<container>-<id>.log
	f     *os.File
	clock time.Time
	next  int // the number of the next numbered line
}

func newTestLog(t testing.TB) *testLog {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "pods", "ns_pod_uid", "app")
	links := filepath.Join(root, "containers")
	for _, d := range []string{dir, links} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l := &testLog{t: t, path: filepath.Join(dir, "0.log"), link: filepath.Join(links, "pod_ns_app-0123abcd.log"),
		clock: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := os.Symlink(l.path, l.link); err != nil {
		t.Fatal(err)
	}
	l.reopen()
	t.Cleanup(func() { l.f.Close() })
	return l
}

// reopen makes later writes go to a new file at the path, as the shim
// does when told to reopen.
func (l *testLog) reopen() {
	l.t.Helper()
	if l.f != nil {
		l.f.Close()
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		l.t.Fatal(err)
	}
	l.f = f
}

// entry formats one CRI entry, stamped by the log's clock.
func (l *testLog) entry(stream, tag, text string) string {
	l.clock = l.clock.Add(time.Millisecond)
	return fmt.Sprintf("%s %s %s %s\n", l.clock.Format(time.RFC3339Nano), stream, tag, text)
}

func (l *testLog) write(s string) {
	l.t.Helper()
	if _, err := l.f.WriteString(s); err != nil {
		l.t.Fatal(err)
	}
}

// lines writes n numbered F lines on stdout.
func (l *testLog) lines(n int) {
	l.t.Helper()
	var b strings.Builder
	for range n {
		b.WriteString(l.entry("stdout", "F", numbered(l.next)))
		l.next++
	}
	l.write(b.String())
}

func numbered(i int) string { return fmt.Sprintf("line %06d", i) }

// rotate does what containerlog's Rotator does: compresses the rotated
// files left uncompressed (through a .tmp), renames the log to
// <log>.<stamp> and has the writer reopen the path.
func (l *testLog) rotate() {
	l.t.Helper()
	old, err := filepath.Glob(l.path + ".*")
	if err != nil {
		l.t.Fatal(err)
	}
	for _, f := range old {
		if !strings.HasSuffix(f, ".gz") {
			gzipFile(l.t, f)
		}
	}
	stamp := l.clock.Truncate(time.Second).Format(rotatedStampFormat)
	if err := os.Rename(l.path, l.path+"."+stamp); err != nil {
		l.t.Fatal(err)
	}
	l.clock = l.clock.Truncate(time.Second).Add(time.Second) // stamps stay unique
	l.reopen()
}

// gzipFile replaces name by name.gz through name.tmp.
func gzipFile(t testing.TB, name string) {
	t.Helper()
	in, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(name + ".tmp")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := zw.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name+".gz"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
}

func openTest(t testing.TB, path string, from Position, opt Options) *Reader {
	t.Helper()
	r, err := Open(path, from, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readNow reads until Read returns nothing.
func readNow(t testing.TB, r *Reader) []Line {
	t.Helper()
	var all []Line
	for {
		lines, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			return all
		}
		all = append(all, lines...)
	}
}

// readUntil reads, waiting between reads, until n lines came or the
// (generous) deadline passed.
func readUntil(t *testing.T, r *Reader, n int) []Line {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var all []Line
	for len(all) < n {
		lines, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, lines...)
		if len(lines) == 0 {
			if err := r.Wait(ctx); err != nil {
				t.Fatalf("waiting for line %d of %d: %v", len(all), n, err)
			}
		}
	}
	return all
}

// assertSequence checks that lines are exactly the numbered lines from
// first to first+n-1, in order: no loss, no duplicate.
func assertSequence(t *testing.T, lines []Line, first, n int) {
	t.Helper()
	for i, l := range lines {
		num, err := strconv.Atoi(strings.TrimPrefix(l.Text, "line "))
		if err != nil || num != first+i {
			t.Fatalf("line %d is %q, want %q (lines %d..%d expected, %d got)", i, l.Text, numbered(first+i), first, first+n-1, len(lines))
		}
	}
	if len(lines) != n {
		t.Fatalf("got %d lines, want %d", len(lines), n)
	}
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
