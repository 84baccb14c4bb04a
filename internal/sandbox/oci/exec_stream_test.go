package oci

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// syncBuffer is a client's output stream that tests can wait on.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output contains want, calling poke (if any)
// every 200 ms meanwhile, e.g. to type a command again.
func (b *syncBuffer) waitFor(t testing.TB, want string, d time.Duration, poke func()) {
	t.Helper()
	deadline := time.Now().Add(d)
	for next := time.Now(); !strings.Contains(b.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q does not contain %q after %v", b.String(), want, d)
		}
		if poke != nil && time.Now().After(next) {
			poke()
			next = time.Now().Add(200 * time.Millisecond)
		}
	}
}

// runningPod makes a pod with one long-running container of cfg's user,
// environment and working directory, and returns the pod's UID and the
// attempt's ID.
func runningPod(t *testing.T, r *Runtime, cfg sandbox.ContainerConfig) (string, string) {
	t.Helper()
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	if cfg.Name == "" {
		cfg = shellContainer(t, busyboxLayer(t), "main", "exec sleep 1000")
	}
	return pod.UID, startContainer(t, r, pod.UID, cfg).ID
}

func execStream(t *testing.T, r *Runtime, uid, id string, s sandbox.Streams, argv ...string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.ExecStream(ctx, uid, id, argv, s)
}

func TestExecStream(t *testing.T) {
	r := testRuntime(t, "runc")
	cfg := shellContainer(t, busyboxLayer(t), "app", "exec sleep 1000")
	cfg.User, cfg.WorkingDir, cfg.Env = "1000", "/tmp", append(cfg.Env, "GREETING=hi there")
	uid, id := runningPod(t, r, cfg)

	t.Run("stdin to output, exit code", func(t *testing.T) {
		var stdout, stderr syncBuffer
		code, err := execStream(t, r, uid, id, sandbox.Streams{Stdin: strings.NewReader("one\ntwo\n"), Stdout: &stdout, Stderr: &stderr},
			"sh", "-c", "cat; echo oops >&2; exit 7")
		if err != nil || code != 7 {
			t.Fatalf("code %d, err %v; want 7, nil", code, err)
		}
		if stdout.String() != "one\ntwo\n" || stderr.String() != "oops\n" {
			t.Fatalf("stdout %q stderr %q, want the input and oops", stdout.String(), stderr.String())
		}
	})
	t.Run("container's user, environment and directory", func(t *testing.T) {
		var stdout syncBuffer
		code, err := execStream(t, r, uid, id, sandbox.Streams{Stdout: &stdout}, "sh", "-c", `id -u; echo "$GREETING"; pwd`)
		if err != nil || code != 0 || stdout.String() != "1000\nhi there\n/tmp\n" {
			t.Fatalf("code %d, err %v, output %q; want 1000, hi there, /tmp", code, err, stdout.String())
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		var stdout, stderr syncBuffer
		code, err := execStream(t, r, uid, id, sandbox.Streams{Stdout: &stdout, Stderr: &stderr}, "no-such-binary")
		if err == nil || !strings.HasSuffix(err.Error(), `: exec: "no-such-binary": executable file not found in $PATH`) || code == 0 {
			t.Fatalf("code %d, err %v; want the runtime's message and a non-zero code", code, err)
		}
		if stdout.String()+stderr.String() != "" {
			t.Fatalf("the runtime's message also went to the client: stdout %q stderr %q", stdout.String(), stderr.String())
		}
		if n := len(containerProcs(t, r, uid, id)); n != 1 {
			t.Fatalf("%d processes in the container, want only its main one", n)
		}
	})
	t.Run("not running", func(t *testing.T) {
		if _, err := execStream(t, r, uid, "no-such-container", sandbox.Streams{}, "true"); err == nil {
			t.Fatal("exec in a container that does not exist succeeded")
		}
	})
}

func TestExecStreamTerminal(t *testing.T) {
	r := testRuntime(t, "runc")
	uid, id := runningPod(t, r, sandbox.ContainerConfig{})

	t.Run("tty", func(t *testing.T) {
		var stdout syncBuffer
		code, err := execStream(t, r, uid, id, sandbox.Streams{Stdout: &stdout, TTY: true}, "tty")
		if err != nil || code != 0 || !strings.HasPrefix(stdout.String(), "/dev/pts/") {
			t.Fatalf("code %d, err %v, output %q; want /dev/pts/N", code, err, stdout.String())
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		var stdout syncBuffer
		code, err := execStream(t, r, uid, id, sandbox.Streams{Stdout: &stdout, TTY: true}, "no-such-binary")
		if err == nil || !strings.HasSuffix(err.Error(), `: exec: "no-such-binary": executable file not found in $PATH`) || code == 0 {
			t.Fatalf("code %d, err %v; want the runtime's message and a non-zero code", code, err)
		}
		if stdout.String() != "" {
			t.Fatalf("the runtime's message also went to the client: %q", stdout.String())
		}
	})
	t.Run("interactive shell and resize", func(t *testing.T) {
		stdinR, stdinW := io.Pipe()
		defer stdinW.Close()
		resize := make(chan sandbox.TerminalSize, 2)
		resize <- sandbox.TerminalSize{Width: 100, Height: 40}
		var stdout syncBuffer
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, err := execStream(t, r, uid, id, sandbox.Streams{Stdin: stdinR, Stdout: &stdout, TTY: true, Resize: resize}, "sh")
			done <- result{code, err}
		}()
		typeLine := func(line string) func() {
			return func() { io.WriteString(stdinW, line+"\n") }
		}
		// The shell reads the size when the command runs: type it until
		// the resize has reached the container's terminal.
		stdout.waitFor(t, "40 100", 10*time.Second, typeLine("stty size"))
		resize <- sandbox.TerminalSize{Width: 120, Height: 50}
		stdout.waitFor(t, "50 120", 10*time.Second, typeLine("stty size"))
		typeLine("echo $((6*7)); exit 3")()
		res := <-done
		if res.err != nil || res.code != 3 || !strings.Contains(stdout.String(), "42") {
			t.Fatalf("code %d, err %v, output %q; want 3 and 42", res.code, res.err, stdout.String())
		}
	})
}

// containerProcs lists the pids in the attempt's cgroup.
func containerProcs(t testing.TB, r *Runtime, uid, id string) []string {
	t.Helper()
	st, err := r.readState(uid, id)
	must(t, err)
	data, err := os.ReadFile(filepath.Join(r.cgroups.dirs(st.Cgroup)[0], "cgroup.procs"))
	must(t, err)
	return strings.Fields(string(data))
}

func numGoroutines() int { return runtime.NumGoroutine() }

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(entries)
}

// waitNoGrowth waits until goroutines and fds are back to their counts
// before, failing after d.
func waitNoGrowth(t testing.TB, goroutines, fds int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		g, f := numGoroutines(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the sessions: %d goroutines (was %d), %d fds (was %d)", g, goroutines, f, fds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExecStreamLeavesNothing runs 50 sessions, a third of them
// cancelled mid-stream, a third on a terminal, and checks that no
// process, goroutine or fd is left.
func TestExecStreamLeavesNothing(t *testing.T) {
	r := testRuntime(t, "runc")
	uid, id := runningPod(t, r, sandbox.ContainerConfig{})
	// One session first, so that lazily made things (poller, timers) exist.
	execStream(t, r, uid, id, sandbox.Streams{Stdout: io.Discard}, "true")
	goroutines, fds := numGoroutines(), openFDs(t)
	for i := range 50 {
		stdinR, stdinW := io.Pipe()
		var stdout syncBuffer
		s := sandbox.Streams{Stdin: stdinR, Stdout: &stdout, Stderr: io.Discard, TTY: i%3 == 2}
		if s.TTY {
			resize := make(chan sandbox.TerminalSize, 1)
			resize <- sandbox.TerminalSize{Width: 80, Height: 24}
			s.Resize = resize
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		done := make(chan error, 1)
		go func() {
			_, err := r.ExecStream(ctx, uid, id, []string{"sh", "-c", "echo ready; exec cat"}, s)
			done <- err
		}()
		stdout.waitFor(t, "ready", 10*time.Second, nil)
		if i%3 == 0 {
			cancel()
		} else {
			fmt.Fprintln(stdinW, "bye")
			stdout.waitFor(t, "bye", 10*time.Second, nil)
			if s.TTY {
				// A terminal's EOF is ^D, not the end of the stream.
				io.WriteString(stdinW, "\x04")
			} else {
				stdinW.Close()
			}
		}
		err := <-done
		if (i%3 == 0) != (err != nil) {
			t.Fatalf("session %d: err %v", i, err)
		}
		// The caller closes the client's stream once ExecStream returned.
		stdinW.Close()
		cancel()
	}
	waitNoGrowth(t, goroutines, fds, 5*time.Second)
	if procs := containerProcs(t, r, uid, id); len(procs) != 1 {
		t.Fatalf("container processes after the sessions: %v, want only the main one", procs)
	}
}
