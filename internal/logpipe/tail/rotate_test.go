package tail

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/containerlog"
	"github.com/fargo-dev/fargo/internal/shim"
)

func TestRotationOnce(t *testing.T) {
	l := newTestLog(t)
	l.lines(5)
	r := openTest(t, l.link, Position{}, Options{})
	assertSequence(t, readNow(t, r), 0, 5)
	l.lines(3) // written to the old file after the reader reached its end
	l.rotate()
	l.lines(4)
	assertSequence(t, readNow(t, r), 5, 7)
}

// TestRotationTwiceWhileBehind pauses the reader in the first file while it
// is rotated twice: the second rotation compresses and removes the file the
// reader has open.
func TestRotationTwiceWhileBehind(t *testing.T) {
	l := newTestLog(t)
	l.lines(100)
	r := openTest(t, l.link, Position{}, Options{ReadBytes: 300})
	first, err := r.Read()
	if err != nil || len(first) == 0 || len(first) >= 100 {
		t.Fatalf("first Read: %d lines, %v; want a few", len(first), err)
	}
	l.rotate()
	l.lines(100)
	l.rotate()
	l.lines(100)
	if _, err := os.Stat(l.path + "." + l.clock.Add(-2*time.Second).Format(rotatedStampFormat) + ".gz"); err != nil {
		t.Fatalf("the first rotated file was not compressed: %v", err)
	}
	assertSequence(t, append(first, readNow(t, r)...), 0, 300)
}

// TestRotationsWhileCaughtUp rotates three times while the reader waits at
// the end of the first file: it finds the two files it missed, one of them
// compressed, and skips the compressed copy of the one it read.
func TestRotationsWhileCaughtUp(t *testing.T) {
	l := newTestLog(t)
	l.lines(10)
	r := openTest(t, l.link, Position{}, Options{})
	assertSequence(t, readNow(t, r), 0, 10)
	for range 3 {
		l.rotate()
		l.lines(10)
	}
	assertSequence(t, readNow(t, r), 10, 30)
}

// TestRotationsWhileReadingSlowly rotates every few reads of a reader
// that lags further behind each time, so that files it has open or queued
// are compressed and removed under it.
func TestRotationsWhileReadingSlowly(t *testing.T) {
	l := newTestLog(t)
	r := openTest(t, l.link, Position{}, Options{ReadBytes: 300})
	var got []Line
	for range 8 {
		l.lines(20)
		for range 2 {
			lines, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, lines...)
		}
		l.rotate()
	}
	if len(got) >= 100 {
		t.Fatalf("the reader kept up (%d lines read): the test needs it behind", len(got))
	}
	assertSequence(t, append(got, readNow(t, r)...), 0, 160)
}

func TestLineSplitAcrossRotation(t *testing.T) {
	l := newTestLog(t)
	l.write(l.entry("stdout", "P", "first half, "))
	r := openTest(t, l.link, Position{}, Options{})
	if got := readNow(t, r); len(got) != 0 {
		t.Fatalf("a P part alone was returned: %+v", got)
	}
	l.rotate()
	l.write(l.entry("stdout", "F", "second half"))
	got := readNow(t, r)
	if len(got) != 1 || got[0].Text != "first half, second half" {
		t.Fatalf("got %+v, want the two parts joined across the rotation", got)
	}
}

// follow reads n lines from a goroutine other than the test's, waiting as
// a router would.
func follow(ctx context.Context, r *Reader, n int) ([]Line, error) {
	var all []Line
	for len(all) < n {
		lines, err := r.Read()
		if err != nil {
			return all, err
		}
		all = append(all, lines...)
		if len(lines) == 0 {
			if err := r.Wait(ctx); err != nil {
				return all, fmt.Errorf("after %d of %d lines: %w", len(all), n, err)
			}
		}
	}
	return all, nil
}

type followed struct {
	lines []Line
	err   error
}

func startFollowing(t *testing.T, r *Reader, n int) <-chan followed {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	done := make(chan followed, 1)
	go func() {
		lines, err := follow(ctx, r, n)
		done <- followed{lines, err}
	}()
	return done
}

// TestFollowWhileWritingAndRotating writes, rotates and compresses while
// another goroutine follows, with a small ReadBytes so it falls behind.
func TestFollowWhileWritingAndRotating(t *testing.T) {
	l := newTestLog(t)
	r := openTest(t, l.link, Position{}, Options{ReadBytes: 2000})
	const batches, per = 40, 25
	done := startFollowing(t, r, batches*per)
	for i := range batches {
		l.lines(per)
		if i%5 == 4 {
			l.rotate()
		}
	}
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	assertSequence(t, got.lines, 0, batches*per)
}

// shimContainer is one container for containerlog's Rotator, its log
// written by the shim's CRILog.
type shimContainer struct {
	path string
	log  *shim.CRILog

	mu    sync.Mutex
	files []*os.File
}

func newShimContainer(t *testing.T, path string) *shimContainer {
	c := &shimContainer{path: path}
	f, err := c.open()
	if err != nil {
		t.Fatal(err)
	}
	c.log = shim.NewCRILog(f)
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, f := range c.files {
			f.Close()
		}
	})
	return c
}

func (c *shimContainer) open() (io.Writer, error) {
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files = append(c.files, f)
	return f, nil
}

func (c *shimContainer) RunningContainers(context.Context) ([]containerlog.Container, error) {
	return []containerlog.Container{{PodUID: "uid", ID: "0123abcd", LogPath: c.path}}, nil
}

func (c *shimContainer) ReopenLog(context.Context, string, string) error {
	return c.log.Reopen(c.open)
}

// writeNumbered has the shim write lines first..first+n-1 on stdout.
func (c *shimContainer) writeNumbered(t *testing.T, first, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(numbered(first+i) + "\n")
	}
	if err := c.log.Copy("stdout", strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
}

// TestContainerlogRotation follows a log that containerlog's Rotator
// rotates (once a second at most, its stamps having a second's precision)
// while the shim writes it and the reader lags behind.
func TestContainerlogRotation(t *testing.T) {
	l := newTestLog(t)
	c := newShimContainer(t, l.path)
	rot, err := containerlog.NewRotator(c, containerlog.RotatorConfig{MaxSize: 4 << 10, MaxFiles: 20, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { rot.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	r := openTest(t, l.link, Position{}, Options{ReadBytes: 1000})
	const total = 6000
	done := startFollowing(t, r, total)
	for i := 0; i < total; i += 20 {
		c.writeNumbered(t, i, 20)
		time.Sleep(5 * time.Millisecond) // spread the writing over rotations
	}
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	assertSequence(t, got.lines, 0, total)
	rotated, _ := filepath.Glob(l.path + ".*")
	compressed, _ := filepath.Glob(l.path + ".*.gz")
	if len(rotated) < 2 || len(compressed) < 1 {
		t.Fatalf("the Rotator left %v: the test needs two rotations or more, one compressed", rotated)
	}
}
