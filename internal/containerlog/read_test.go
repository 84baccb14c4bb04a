package containerlog

import (
	"bytes"
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var base = time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.UTC)

// lines are entries one second apart, all stdout and whole.
func lines(start time.Time, texts ...string) []entry {
	var out []entry
	for i, s := range texts {
		out = append(out, entry{start.Add(time.Duration(i) * time.Second), "stdout", true, s})
	}
	return out
}

// readAll reads the log at path once (no follow) and returns both streams.
func readAll(t *testing.T, path string, opts *corev1.PodLogOptions) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := Read(context.Background(), path, opts, func() bool { return true }, &out, &errOut); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out.String(), errOut.String()
}

func TestReadSplitsStreamsAndJoinsPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path,
		entry{base, "stdout", true, "out one"},
		entry{base, "stderr", false, "err "},
		entry{base, "stderr", false, "in "},
		entry{base, "stderr", true, "parts"},
		entry{base, "stdout", true, "out two"},
	)
	stdout, stderr := readAll(t, path, nil)
	if want := "out one\nout two\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if want := "err in parts\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestReadNilWriterDropsThatStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, entry{base, "stderr", true, "noise"}, entry{base, "stdout", true, "wanted"})
	var out bytes.Buffer
	opts := &corev1.PodLogOptions{LimitBytes: ptr.To[int64](7)}
	if err := Read(context.Background(), path, opts, nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	// The dropped stderr line does not use up limitBytes.
	if got := out.String(); got != "wanted\n" {
		t.Errorf("stdout = %q, want %q", got, "wanted\n")
	}
}

func TestReadTailLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, lines(base, "a", "b", "c", "d")...)
	for tail, want := range map[int64]string{0: "", 2: "c\nd\n", 10: "a\nb\nc\nd\n"} {
		if got, _ := readAll(t, path, &corev1.PodLogOptions{TailLines: ptr.To(tail)}); got != want {
			t.Errorf("tailLines=%d: got %q, want %q", tail, got, want)
		}
	}
}

func TestReadSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	now := time.Now()
	writeLog(t, path,
		entry{now.Add(-time.Hour), "stdout", true, "an hour ago"},
		entry{now.Add(-10 * time.Minute), "stdout", true, "ten minutes ago"},
		entry{now.Add(-10 * time.Second), "stdout", true, "ten seconds ago"},
	)
	got, _ := readAll(t, path, &corev1.PodLogOptions{SinceSeconds: ptr.To[int64](60)})
	if want := "ten seconds ago\n"; got != want {
		t.Errorf("sinceSeconds=60: got %q, want %q", got, want)
	}
	since := metav1.NewTime(now.Add(-30 * time.Minute))
	got, _ = readAll(t, path, &corev1.PodLogOptions{SinceTime: &since})
	if want := "ten minutes ago\nten seconds ago\n"; got != want {
		t.Errorf("sinceTime=-30m: got %q, want %q", got, want)
	}
}

func TestReadTimestamps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path,
		entry{base, "stdout", false, "split "},
		entry{base.Add(time.Millisecond), "stdout", true, "line"},
	)
	got, _ := readAll(t, path, &corev1.PodLogOptions{Timestamps: true})
	// Fixed-width nanoseconds, and one prefix for a line written in parts.
	if want := "2024-01-02T03:04:05.500000000Z split line\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadLimitBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, lines(base, "aaaa", "bbbb", "cccc")...)
	got, _ := readAll(t, path, &corev1.PodLogOptions{LimitBytes: ptr.To[int64](7)})
	if want := "aaaa\nbb"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadRefusesWhatTheKubeletRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, lines(base, "a")...)
	since := metav1.NewTime(base)
	for name, opts := range map[string]*corev1.PodLogOptions{
		"negative tailLines": {TailLines: ptr.To[int64](-1)},
		"zero limitBytes":    {LimitBytes: ptr.To[int64](0)},
		"both since":         {SinceSeconds: ptr.To[int64](5), SinceTime: &since},
	} {
		var out bytes.Buffer
		if err := Read(context.Background(), path, opts, nil, &out, &out); err == nil || out.Len() > 0 {
			t.Errorf("%s: err %v, output %q; want an error and no output", name, err, out.String())
		}
	}
}

func TestReadMissingFileIsAnError(t *testing.T) {
	var out bytes.Buffer
	if err := Read(context.Background(), filepath.Join(t.TempDir(), "0.log"), nil, nil, &out, &out); err == nil {
		t.Fatal("Read of a missing log succeeded")
	}
}

func TestFollowEndsWhenContainerStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, lines(base, "first")...)
	var running atomic.Bool
	running.Store(true)
	stdout, stderr := newOutput(), newOutput()
	done := following(context.Background(), path, running.Load, stdout, stderr)

	stdout.waitFor(t, "first\n")
	appendLog(t, path, entry{base, "stderr", true, "second"})
	stderr.waitFor(t, "second\n")
	// A line written just before the container stops is still served.
	appendLog(t, path, lines(base, "last")...)
	running.Store(false)
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got, want := stdout.String(), "first\nlast\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestFollowEndsWhenClientGoesAway(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLog(t, path, lines(base, "first")...)
	ctx, cancel := context.WithCancel(context.Background())
	stdout := newOutput()
	done := following(ctx, path, func() bool { return true }, stdout, newOutput())
	stdout.waitFor(t, "first\n")
	cancel()
	if err := waitDone(t, done); err == nil {
		t.Error("Read ended without error though the client went away mid-follow")
	}
}
