package tail

import (
	"bufio"
	"runtime"
	"strings"
	"testing"
)

// writeBig appends n numbered stdout lines of 200 bytes each (newline
// included) to l's log.
func writeBig(tb testing.TB, l *testLog, n int) {
	tb.Helper()
	w := bufio.NewWriterSize(l.f, 1<<20)
	for range n {
		e := l.entry("stdout", "F", numbered(l.next))
		l.next++
		pad := 200 - len(e)
		e = e[:len(e)-1] + " " + strings.Repeat("x", pad-1) + "\n"
		if _, err := w.WriteString(e); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRead reads a 50 MB log of 200-byte lines; the MB/s column is
// the reading rate.
func BenchmarkRead(b *testing.B) {
	l := newTestLog(b)
	const n = 250_000
	writeBig(b, l, n)
	b.SetBytes(n * 200)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(l.link, Position{}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for {
			lines, err := r.Read()
			if err != nil {
				b.Fatal(err)
			}
			if len(lines) == 0 {
				break
			}
			count += len(lines)
		}
		r.Close()
		if count != n {
			b.Fatalf("read %d lines, want %d", count, n)
		}
	}
}
