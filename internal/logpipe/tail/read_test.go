package tail

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/shim"
)

func TestReadFromHead(t *testing.T) {
	l := newTestLog(t)
	l.write("2024-01-02T03:04:05.123456789Z stdout F hello world\n")
	l.write("2024-01-02T03:04:06Z stderr F oops\n")
	l.write("2024-01-02T03:04:07Z stdout F \n")
	r := openTest(t, l.link, Position{}, Options{})

	got := readNow(t, r)
	want := []Line{
		{Raw: "2024-01-02T03:04:05.123456789Z stdout F hello world", Time: time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), Stream: "stdout", Text: "hello world"},
		{Raw: "2024-01-02T03:04:06Z stderr F oops", Time: time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC), Stream: "stderr", Text: "oops"},
		{Raw: "2024-01-02T03:04:07Z stdout F ", Time: time.Date(2024, 1, 2, 3, 4, 7, 0, time.UTC), Stream: "stdout", Text: ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d", len(got), got, len(want))
	}
	info, err := os.Stat(l.path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		g := got[i]
		if g.Raw != want[i].Raw || !g.Time.Equal(want[i].Time) || g.Stream != want[i].Stream || g.Text != want[i].Text {
			t.Errorf("line %d = %+v, want %+v", i, g, want[i])
		}
		if g.End.Inode != inodeOf(info) || !g.End.Time.Equal(want[i].Time) {
			t.Errorf("line %d ends at %+v, want inode %d and the line's time", i, g.End, inodeOf(info))
		}
	}
	if end := got[2].End.Offset; end != info.Size() {
		t.Errorf("last line ends at offset %d, want the file's size %d", end, info.Size())
	}
}

func TestGrowingFileAndPartialLine(t *testing.T) {
	l := newTestLog(t)
	l.lines(3)
	r := openTest(t, l.link, Position{}, Options{})
	assertSequence(t, readNow(t, r), 0, 3)

	// The writer is mid-line: nothing until its newline arrives.
	entry := l.entry("stdout", "F", numbered(3))
	l.write(entry[:20])
	if got := readNow(t, r); len(got) != 0 {
		t.Fatalf("a line without its newline was returned: %+v", got)
	}
	l.write(entry[20:])
	l.next++
	l.lines(2)
	assertSequence(t, readNow(t, r), 3, 3)
}

func TestPartsJoined(t *testing.T) {
	l := newTestLog(t)
	first := l.entry("stdout", "P", "aaa")
	firstTime := l.clock
	l.write(first)
	l.write(l.entry("stdout", "P", "bbb"))
	r := openTest(t, l.link, Position{}, Options{})
	if got := readNow(t, r); len(got) != 0 {
		t.Fatalf("P parts without their F were returned: %+v", got)
	}
	// A stderr line between the parts comes out at once, but its End must
	// not pass the held parts: a reader resumed there reads them again.
	l.write(l.entry("stderr", "F", "between"))
	l.write(l.entry("stdout", "F", "ccc"))
	got := readNow(t, r)
	if len(got) != 2 {
		t.Fatalf("got %+v, want the stderr line and the joined line", got)
	}
	if got[0].Text != "between" || got[0].End.Offset != 0 {
		t.Errorf("stderr line = %+v, want text %q ending where the held line starts (0)", got[0], "between")
	}
	joined := got[1]
	wantRaw := firstTime.Format(time.RFC3339Nano) + " stdout F aaabbbccc"
	if joined.Raw != wantRaw || joined.Text != "aaabbbccc" || !joined.Time.Equal(firstTime) || joined.Stream != "stdout" {
		t.Errorf("joined line = %+v, want Raw %q with the first part's time", joined, wantRaw)
	}
	r2 := openTest(t, l.link, got[0].End, Options{})
	again := readNow(t, r2)
	if len(again) != 2 || again[1].Raw != wantRaw {
		t.Errorf("resumed from the stderr line's End: got %+v, want it and the joined line again", again)
	}
}

// TestShimSplitLineJoined reads what the shim writes for a line longer than
// its 16 KiB entry limit.
func TestShimSplitLineJoined(t *testing.T) {
	l := newTestLog(t)
	long := strings.Repeat("0123456789", 5000) // 50 000 bytes: four entries
	cri := shim.NewCRILog(l.f)
	if err := cri.Copy("stderr", strings.NewReader(long+"\nshort\n")); err != nil {
		t.Fatal(err)
	}
	r := openTest(t, l.link, Position{}, Options{})
	got := readNow(t, r)
	if len(got) != 2 || got[0].Text != long || got[0].Stream != "stderr" || got[1].Text != "short" {
		t.Fatalf("got %d lines (first text %d bytes), want the 50 000-byte line joined and %q", len(got), len(got[0].Text), "short")
	}
	if !strings.Contains(got[0].Raw, " stderr F ") {
		t.Errorf("joined line is not marked F: %.60q", got[0].Raw)
	}
}

func TestLongLinesSkipped(t *testing.T) {
	l := newTestLog(t)
	l.lines(1)
	// Joined over the limit, from parts each under it.
	for range 3 {
		l.write(l.entry("stdout", "P", strings.Repeat("p", 400)))
	}
	l.write(l.entry("stdout", "F", "end of the long joined line"))
	l.lines(1)
	// One entry far over the limit: discarded as it is read.
	l.write(l.entry("stderr", "F", strings.Repeat("x", 300_000)))
	l.lines(1)
	r := openTest(t, l.link, Position{}, Options{MaxLineBytes: 1000})
	assertSequence(t, readNow(t, r), 0, 3)
	if r.Skipped() != 2 {
		t.Errorf("Skipped() = %d, want 2", r.Skipped())
	}
}

func TestMalformedLinesPassed(t *testing.T) {
	l := newTestLog(t)
	l.write("not a cri line\n")
	l.write("2024-01-02T03:04:05Z stdin F wrong stream\n")
	l.lines(1)
	r := openTest(t, l.link, Position{}, Options{})
	got := readNow(t, r)
	if len(got) != 3 {
		t.Fatalf("got %+v, want 3 lines", got)
	}
	for i, raw := range []string{"not a cri line", "2024-01-02T03:04:05Z stdin F wrong stream"} {
		if g := got[i]; g.Raw != raw || g.Text != raw || g.Stream != "stdout" || !g.Time.IsZero() {
			t.Errorf("line %d = %+v, want %q passed as stdout text with no time", i, g, raw)
		}
	}
	if got[2].Text != numbered(0) || r.Skipped() != 0 {
		t.Errorf("after the malformed lines got %+v, skipped %d", got[2], r.Skipped())
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.log"), Position{}, Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing log: %v, want an error wrapping os.ErrNotExist", err)
	}
	if _, err := Open(os.DevNull, Position{}, Options{ReadBytes: -1}); err == nil || !strings.Contains(err.Error(), "ReadBytes") {
		t.Errorf("negative ReadBytes: %v, want an error naming it", err)
	}
}

// TestBigFileReadBounded reads 20 MB with a 64 KiB ReadBytes: each Read
// stays within it, and the heap does not grow with the file.
func TestBigFileReadBounded(t *testing.T) {
	l := newTestLog(t)
	const n = 100_000 // about 20 MB of 200-byte lines
	writeBig(t, l, n)
	const limit = 64 << 10
	r := openTest(t, l.link, Position{}, Options{ReadBytes: limit})
	var base, peak uint64
	base = heapInUse()
	count := 0
	for reads := 0; ; reads++ {
		lines, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			break
		}
		size := 0
		for _, ln := range lines {
			size += len(ln.Raw)
		}
		if size > limit {
			t.Fatalf("Read returned %d bytes, over ReadBytes %d", size, limit)
		}
		count += len(lines)
		if reads%50 == 0 {
			peak = max(peak, heapInUse())
		}
	}
	if count != n {
		t.Fatalf("read %d lines, want %d", count, n)
	}
	if grown := int64(peak) - int64(base); grown > 8<<20 {
		t.Errorf("heap grew by %d bytes reading a 20 MB file 64 KiB at a time", grown)
	}
}
