package tail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitInBackground runs Wait in a goroutine; the channel gets its result.
func waitInBackground(t *testing.T, r *Reader) <-chan error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- r.Wait(ctx) }()
	return done
}

func TestWaitWakesOnGrowth(t *testing.T) {
	l := newTestLog(t)
	l.lines(1)
	// A poll interval longer than the test: only inotify can wake Wait.
	r := openTest(t, l.link, Position{}, Options{Poll: time.Hour})
	if r.w.f == nil {
		t.Skip("no inotify instance available (fs.inotify.max_user_instances reached?)")
	}
	assertSequence(t, readNow(t, r), 0, 1)
	done := waitInBackground(t, r)
	l.lines(1)
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	assertSequence(t, readNow(t, r), 1, 1)
}

func TestWaitPollsWithoutInotify(t *testing.T) {
	l := newTestLog(t)
	r := openTest(t, l.link, Position{}, Options{Poll: 10 * time.Millisecond})
	r.w.close()
	r.w = &watcher{}
	done := waitInBackground(t, r)
	l.lines(1)
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	assertSequence(t, readNow(t, r), 0, 1)
}

func TestWaitWakesOnRotation(t *testing.T) {
	l := newTestLog(t)
	l.lines(2)
	r := openTest(t, l.link, Position{}, Options{})
	assertSequence(t, readNow(t, r), 0, 2)
	done := waitInBackground(t, r)
	l.rotate() // the new file is empty, but it is a new file
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	l.lines(1)
	assertSequence(t, readNow(t, r), 2, 1)
}

func TestWaitEndsWithContext(t *testing.T) {
	l := newTestLog(t)
	r := openTest(t, l.link, Position{}, Options{Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Wait(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return after its context was cancelled")
	}
}

// TestGone deletes the pod's logs while lines are unread: they are still
// read, the held part of an unfinished line is flushed, then Gone.
func TestGone(t *testing.T) {
	l := newTestLog(t)
	l.lines(3)
	r := openTest(t, l.link, Position{}, Options{})
	l.write(l.entry("stdout", "P", "DONE"))
	if err := os.RemoveAll(filepath.Dir(filepath.Dir(l.path))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(l.link); err != nil {
		t.Fatal(err)
	}
	lines := readNow(t, r)
	if !r.Gone() {
		t.Fatal("Gone() is false after the log was deleted and read to its end")
	}
	if len(lines) != 4 || lines[3].Text != "DONE" {
		t.Fatalf("got %+v, want 3 lines and the unfinished one", lines)
	}
	assertSequence(t, lines[:3], 0, 3)
	if err := r.Wait(context.Background()); err != nil {
		t.Errorf("Wait once Gone: %v, want an immediate nil", err)
	}
	if again := readNow(t, r); len(again) != 0 || !r.Gone() {
		t.Errorf("after Gone, Read returned %+v (Gone %v)", again, r.Gone())
	}
}

// TestRotationGapNotGone renames the log without the new one existing yet,
// as between a rotation's rename and the shim's reopen.
func TestRotationGapNotGone(t *testing.T) {
	l := newTestLog(t)
	l.lines(2)
	r := openTest(t, l.link, Position{}, Options{})
	if err := os.Rename(l.path, l.path+".20240102-030405"); err != nil {
		t.Fatal(err)
	}
	assertSequence(t, readNow(t, r), 0, 2)
	if r.Gone() {
		t.Fatal("Gone() is true during a rotation")
	}
	done := waitInBackground(t, r)
	l.reopen()
	l.lines(1)
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	assertSequence(t, readNow(t, r), 2, 1)
	if r.Gone() {
		t.Fatal("Gone() is true after the rotation")
	}
}
