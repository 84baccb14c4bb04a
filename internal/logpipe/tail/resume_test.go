package tail

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// saved round-trips a Position through JSON, as a router saves it.
func saved(t *testing.T, p Position) Position {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Position
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// readFirst opens the log from the start, reads n lines and closes.
func readFirst(t *testing.T, l *testLog, n int) Position {
	t.Helper()
	r := openTest(t, l.link, Position{}, Options{})
	lines := readNow(t, r)[:n]
	assertSequence(t, lines, 0, n)
	r.Close()
	return saved(t, lines[n-1].End)
}

func TestResumeSameFile(t *testing.T) {
	l := newTestLog(t)
	l.lines(10)
	at := readFirst(t, l, 4)
	l.lines(5)
	r := openTest(t, l.link, at, Options{})
	assertSequence(t, readNow(t, r), 4, 11)
}

func TestResumeAfterRotation(t *testing.T) {
	l := newTestLog(t)
	l.lines(10)
	at := readFirst(t, l, 4)
	l.rotate()
	l.lines(10)
	r := openTest(t, l.link, at, Options{})
	assertSequence(t, readNow(t, r), 4, 16)
}

// TestResumeAfterCompression resumes in a file compressed and removed
// since: the Position's time tells what was read.
func TestResumeAfterCompression(t *testing.T) {
	l := newTestLog(t)
	l.lines(10)
	at := readFirst(t, l, 4)
	l.rotate()
	l.lines(10)
	l.rotate() // compresses the file the Position was taken in
	l.lines(10)
	r := openTest(t, l.link, at, Options{})
	lines := readNow(t, r)
	assertSequence(t, lines, 4, 26)

	// Lines 4..9 came from the compressed copy: a Position there resumes
	// in it too.
	gz, err := os.Stat(l.path + "." + l.clock.Add(-2*time.Second).Format(rotatedStampFormat) + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	if lines[2].End.Inode != inodeOf(gz) {
		t.Fatalf("line 6 ends at %+v, want a position in the compressed file (inode %d)", lines[2].End, inodeOf(gz))
	}
	r2 := openTest(t, l.link, saved(t, lines[2].End), Options{})
	assertSequence(t, readNow(t, r2), 7, 23)
}

// TestResumeInodeReused gives a Position whose inode is the live log's
// but whose time is not that of the entry at its offset, as after the
// inode was freed and reused: the reader must not trust the offset.
func TestResumeInodeReused(t *testing.T) {
	l := newTestLog(t)
	l.lines(10)
	at := readFirst(t, l, 4)

	other := at
	other.Time = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // before every line here
	r := openTest(t, l.link, other, Options{})
	assertSequence(t, readNow(t, r), 0, 10)

	mid := at
	mid.Offset-- // not just after a newline
	r2 := openTest(t, l.link, mid, Options{})
	assertSequence(t, readNow(t, r2), 4, 6)
}
