package oci

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

var criLine = regexp.MustCompile(`^(\S+) (stdout|stderr) (F|P) (.*)$`)

// readCRILog returns the log's entries as "stream tag text", checking
// each line's format and time stamp.
func readCRILog(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	var entries []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		m := criLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("log line %q is not in CRI format", line)
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("log line %q: bad time: %v", line, err)
		}
		entries = append(entries, m[2]+" "+m[3]+" "+m[4])
	}
	return entries
}

func TestContainerOutputAndExitCode(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	cfg := shellContainer(t, layer, "app", "echo hello; echo oops >&2; exit 3")
	st := startContainer(t, r, pod.UID, cfg)
	if st.State != sandbox.StateRunning || st.Pid <= 0 {
		t.Fatalf("StartContainer status = %+v, want running with a pid", st)
	}
	exit := waitExit(t, r, st.ID, 10*time.Second)
	if exit.ExitCode != 3 || exit.Reason != "Error" || exit.State != sandbox.StateExited {
		t.Fatalf("exit = %+v, want code 3, Reason Error", exit)
	}
	got := readCRILog(t, cfg.LogPath)
	// The two streams are separate pipes: their relative order is not fixed.
	want := map[string]bool{"stdout F hello": true, "stderr F oops": true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Fatalf("log entries = %q, want stdout F hello and stderr F oops", got)
	}
	list, err := r.Containers(context.Background(), pod.UID)
	must(t, err)
	if len(list) != 1 || list[0].ExitCode != 3 || list[0].Reason != "Error" || list[0].State != sandbox.StateExited {
		t.Fatalf("Containers = %+v, want one exited with code 3", list)
	}
	if !list[0].FinishedAt.After(list[0].StartedAt) {
		t.Fatalf("FinishedAt %v not after StartedAt %v", list[0].FinishedAt, list[0].StartedAt)
	}
}

func TestExitReasons(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	for _, tc := range []struct {
		name, script string
		code         int
		reason       string
	}{
		{"completed", "exit 0", 0, "Completed"},
		{"error", "exit 1", 1, "Error"},
		{"oom-killed", `x=0123456789abcdef; while true; do x="$x$x"; done`, 137, "OOMKilled"},
		{"child-oom-killed", `sh -c 'x=0123456789abcdef; while true; do x="$x$x"; done'; exit 7`, 7, "OOMKilled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := startContainer(t, r, pod.UID, shellContainer(t, layer, tc.name, tc.script))
			exit := waitExit(t, r, st.ID, 30*time.Second)
			if exit.ExitCode != tc.code || exit.Reason != tc.reason {
				t.Fatalf("exit = code %d reason %q, want %d %q", exit.ExitCode, exit.Reason, tc.code, tc.reason)
			}
		})
	}
}

func TestStartFailureLeavesNothing(t *testing.T) {
	r := testRuntime(t, "runc")
	layer := busyboxLayer(t)
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	cfg := shellContainer(t, layer, "missing", "")
	cfg.Args = []string{"/no/such/binary"}
	_, err := r.StartContainer(context.Background(), pod.UID, cfg)
	if err == nil || !strings.Contains(err.Error(), "no/such/binary") {
		t.Fatalf("StartContainer error = %v, want the runtime's message naming the binary", err)
	}
	list, err := r.Containers(context.Background(), pod.UID)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("Containers after a failed start = %+v, want none", list)
	}
	if m := MountsUnder(r.podDir(pod.UID) + "/containers"); len(m) != 0 {
		t.Fatalf("mounts left after a failed start: %v", m)
	}
}
