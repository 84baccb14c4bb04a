package oci

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// testAttach is a running Attach with the client's ends of its streams.
type testAttach struct {
	stdin          *io.PipeWriter
	stdout, stderr syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

// attach starts Attach with a stdin pipe (when withStdin) and returns at
// once; the session's result arrives on done.
func attach(t *testing.T, r *Runtime, uid, id string, withStdin bool, resize <-chan sandbox.TerminalSize, tty bool) *testAttach {
	t.Helper()
	a := &testAttach{done: make(chan error, 1)}
	s := sandbox.Streams{Stdout: &a.stdout, Stderr: &a.stderr, TTY: tty, Resize: resize}
	var stdinR *io.PipeReader
	if withStdin {
		stdinR, a.stdin = io.Pipe()
		s.Stdin = stdinR
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	a.cancel = cancel
	go func() {
		a.done <- r.Attach(ctx, uid, id, s)
		if stdinR != nil {
			stdinR.Close() // as the caller closes the client's stream
		}
	}()
	t.Cleanup(func() {
		cancel()
		if a.stdin != nil {
			a.stdin.Close()
		}
	})
	return a
}

// wait waits for the session's end.
func (a *testAttach) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-a.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Attach did not return within 20s")
		return nil
	}
}

func stdinContainer(t *testing.T, name, script string, once, tty bool) sandbox.ContainerConfig {
	cfg := shellContainer(t, busyboxLayer(t), name, script)
	cfg.Stdin, cfg.StdinOnce, cfg.TTY = true, once, tty
	return cfg
}

func TestAttach(t *testing.T) {
	r := testRuntime(t, "runc")
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	cfg := stdinContainer(t, "echo", `while read l; do echo "out $l"; echo "err $l" >&2; done`, false, false)
	id := startContainer(t, r, pod.UID, cfg).ID

	first := attach(t, r, pod.UID, id, true, nil, false)
	io.WriteString(first.stdin, "one\n")
	first.stdout.waitFor(t, "out one\n", 10*time.Second, nil)
	first.stderr.waitFor(t, "err one\n", 10*time.Second, nil)
	if strings.Contains(first.stdout.String(), "err") || strings.Contains(first.stderr.String(), "out") {
		t.Fatalf("streams mixed: stdout %q stderr %q", first.stdout.String(), first.stderr.String())
	}
	// The end of the client's stdin detaches it; the container's stdin
	// stays open (not StdinOnce).
	first.stdin.Close()
	if err := first.wait(t); err != nil {
		t.Fatalf("Attach after the client's stdin ended: %v", err)
	}
	second := attach(t, r, pod.UID, id, true, nil, false)
	io.WriteString(second.stdin, "two\n")
	second.stdout.waitFor(t, "out two\n", 10*time.Second, nil)
	if strings.Contains(second.stdout.String(), "one") {
		t.Fatalf("second session got output from before it attached: %q", second.stdout.String())
	}
	second.cancel()
	if err := second.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Attach after cancel = %v, want context.Canceled", err)
	}
	logged := strings.Join(readCRILog(t, cfg.LogPath), "|")
	for _, want := range []string{"stdout F out one", "stderr F err one", "stdout F out two"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log %q lacks %q", logged, want)
		}
	}
}

func TestAttachStdinOnce(t *testing.T) {
	r := testRuntime(t, "runc")
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	id := startContainer(t, r, pod.UID, stdinContainer(t, "cat", "exec cat", true, false)).ID
	a := attach(t, r, pod.UID, id, true, nil, false)
	io.WriteString(a.stdin, "only once\n")
	a.stdin.Close()
	// cat ends at the end of its stdin, closed after this first session.
	if err := a.wait(t); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if got := a.stdout.String(); got != "only once\n" {
		t.Fatalf("output %q, want the line sent", got)
	}
	if exit := waitExit(t, r, id, 10*time.Second); exit.ExitCode != 0 {
		t.Fatalf("exit %+v, want cat to end with 0 at EOF", exit)
	}
	if err := r.Attach(context.Background(), pod.UID, id, sandbox.Streams{}); err == nil {
		t.Fatal("Attach to an exited container succeeded")
	}
}

func TestAttachTerminal(t *testing.T) {
	r := testRuntime(t, "runc")
	pod := podConfig(testNetns(t))
	createPod(t, r, pod)
	cfg := stdinContainer(t, "shell", "exec sh", false, true)
	id := startContainer(t, r, pod.UID, cfg).ID
	resize := make(chan sandbox.TerminalSize, 1)
	resize <- sandbox.TerminalSize{Width: 100, Height: 40}
	a := attach(t, r, pod.UID, id, true, resize, true)
	typeLine := func(line string) func() {
		return func() { io.WriteString(a.stdin, line+"\n") }
	}
	a.stdout.waitFor(t, "40 100", 10*time.Second, typeLine("stty size"))
	typeLine("tty; echo $((6*7)); exit 5")()
	if err := a.wait(t); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	for _, want := range []string{"/dev/pts/0", "42"} {
		if !strings.Contains(a.stdout.String(), want) {
			t.Errorf("output %q lacks %q", a.stdout.String(), want)
		}
	}
	if a.stderr.String() != "" {
		t.Errorf("stderr %q on a terminal, want nothing", a.stderr.String())
	}
	if exit := waitExit(t, r, id, 10*time.Second); exit.ExitCode != 5 {
		t.Fatalf("exit %+v, want 5", exit)
	}
	// A terminal's output is logged as stdout.
	if logged := strings.Join(readCRILog(t, cfg.LogPath), "|"); !strings.Contains(logged, "stdout F 42") {
		t.Fatalf("log %q lacks the shell's output", logged)
	}
}

// TestAttachAfterAgentRestart attaches through a new Runtime on the same
// root, as a restarted agent does: the shim held the container's stdin.
func TestAttachAfterAgentRestart(t *testing.T) {
	first := testRuntime(t, "runc")
	pod := podConfig(testNetns(t))
	createPod(t, first, pod)
	id := startContainer(t, first, pod.UID, stdinContainer(t, "cat", "exec cat", false, false)).ID
	restarted := newRuntimeAt(t, first.cfg.Root, "runc")
	a := attach(t, restarted, pod.UID, id, true, nil, false)
	io.WriteString(a.stdin, "after restart\n")
	a.stdout.waitFor(t, "after restart\n", 10*time.Second, nil)
	must(t, restarted.StopContainer(context.Background(), pod.UID, id, 0))
	// The container's exit ends the session.
	if err := a.wait(t); err != nil {
		t.Fatalf("Attach after the container was stopped: %v", err)
	}
}
