package shim

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCRILogCopy(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	stamp := "2026-01-02T03:04:05.6Z "
	long := strings.Repeat("a", MaxLogLine)
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"lines", "one\ntwo\n", []string{"stdout F one", "stdout F two"}},
		{"empty line", "\n", []string{"stdout F "}},
		{"unterminated end is partial, as containerd writes it", "one\ntw", []string{"stdout F one", "stdout P tw"}},
		{"exactly the max", long + "\n", []string{"stdout P " + long, "stdout F "}},
		{"longer than the max", long + "bc\n", []string{"stdout P " + long, "stdout F bc"}},
		{"nothing", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			l := NewCRILog(&out)
			l.now = func() time.Time { return at }
			if err := l.Copy("stdout", strings.NewReader(tc.in)); err != nil {
				t.Fatal(err)
			}
			var want string
			for _, w := range tc.want {
				want += stamp + w + "\n"
			}
			if out.String() != want {
				t.Fatalf("log = %.120q, want %.120q", out.String(), want)
			}
		})
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestCRILogDrainsAfterWriteError(t *testing.T) {
	l := NewCRILog(failingWriter{})
	r := strings.NewReader(strings.Repeat("line\n", 10000))
	if err := l.Copy("stderr", r); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes left unread after a write error: the container would block", r.Len())
	}
	if l.Err() == nil {
		t.Fatal("Err() = nil after failed writes")
	}
}

func TestJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		v    interface{ appendJSON([]byte) []byte }
		std  any
	}{
		{"started", StartReport{Pid: 42, StartedAt: at}, StartReport{Pid: 42, StartedAt: at}},
		{"failed", StartReport{Error: "exec: \"x\\y\"\n\tnot found \x01 é \xff"}, StartReport{Error: "exec: \"x\\y\"\n\tnot found \x01 é \xff"}},
		{"exited", ExitStatus{ExitCode: 3, StartedAt: at, FinishedAt: at.Add(time.Second)}, ExitStatus{ExitCode: 3, StartedAt: at, FinishedAt: at.Add(time.Second)}},
		{"killed", ExitStatus{ExitCode: 137, Signal: "SIGKILL", StartedAt: at, FinishedAt: at}, ExitStatus{ExitCode: 137, Signal: "SIGKILL", StartedAt: at, FinishedAt: at}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			std, err := json.Marshal(tc.std)
			if err != nil {
				t.Fatal(err)
			}
			ours := tc.v.appendJSON(nil)
			// Equal once decoded (the escapes chosen may differ).
			var got, want map[string]any
			if err := json.Unmarshal(ours, &got); err != nil {
				t.Fatalf("appendJSON wrote invalid JSON %s: %v", ours, err)
			}
			must(t, json.Unmarshal(std, &want))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("appendJSON = %s\nencoding/json = %s", ours, std)
			}
		})
	}
}

func TestExitFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exit.json")
	if _, err := ReadExitFile(path); err == nil {
		t.Fatal("ReadExitFile of a missing file succeeded")
	}
	want := ExitStatus{ExitCode: 137, Signal: "SIGKILL", StartedAt: time.Now().UTC(), FinishedAt: time.Now().UTC()}
	if err := WriteExitFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExitFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExitCode != want.ExitCode || got.Signal != want.Signal || !got.StartedAt.Equal(want.StartedAt) || !got.FinishedAt.Equal(want.FinishedAt) {
		t.Fatalf("read %+v, wrote %+v", got, want)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
