package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestStreamsRuntimes runs streaming exec and attach through each OCI
// runtime installed.
func TestStreamsRuntimes(t *testing.T) {
	layer := busyboxLayer(t)
	eachRuntime(t, func(t *testing.T, _ string, r *Runtime, pod sandbox.PodConfig) {
		cfg := shellContainer(t, layer, "cat", "exec cat")
		cfg.Stdin = true
		id := startContainer(t, r, pod.UID, cfg).ID

		var out syncBuffer
		code, err := execStream(t, r, pod.UID, id, sandbox.Streams{Stdin: strings.NewReader("piped\n"), Stdout: &out}, "sh", "-c", "cat; exit 4")
		if err != nil || code != 4 || out.String() != "piped\n" {
			t.Errorf("exec: code %d, err %v, output %q; want 4 and the input", code, err, out.String())
		}
		var tty syncBuffer
		// gVisor's terminals have no /dev/pts name: ask isatty.
		code, err = execStream(t, r, pod.UID, id, sandbox.Streams{Stdout: &tty, TTY: true}, "sh", "-c", "test -t 0 && test -t 1 && echo terminal")
		if err != nil || code != 0 || !strings.HasPrefix(tty.String(), "terminal") {
			t.Errorf("tty exec: code %d, err %v, output %q; want a terminal", code, err, tty.String())
		}
		// A resize while the process runs reaches its terminal (kubectl
		// exec -it, then the window changes).
		var sized syncBuffer
		resize := make(chan sandbox.TerminalSize, 1)
		input, typed := io.Pipe()
		ended := make(chan error, 1)
		go func() {
			code, err := execStream(t, r, pod.UID, id, sandbox.Streams{Stdin: input, Stdout: &sized, TTY: true, Resize: resize}, "sh", "-c", "echo ready; read x; stty size")
			if err == nil && code != 0 {
				err = fmt.Errorf("exit code %d", code)
			}
			ended <- err
		}()
		sized.waitFor(t, "ready", 20*time.Second, nil)
		resize <- sandbox.TerminalSize{Width: 120, Height: 40}
		time.Sleep(200 * time.Millisecond) // SIGWINCH is asynchronous
		io.WriteString(typed, "go\n")
		err = <-ended
		typed.Close()
		if err != nil || !strings.Contains(sized.String(), "40 120") {
			t.Errorf("tty exec resized to 120x40 while it runs: %v, output %q; want stty size 40 120", err, sized.String())
		}
		code, err = execStream(t, r, pod.UID, id, sandbox.Streams{Stdout: io.Discard, Stderr: io.Discard}, "no-such-binary")
		if err == nil || code == 0 || !strings.Contains(err.Error(), "no-such-binary") {
			t.Errorf("missing binary: code %d, err %v; want an error naming it", code, err)
		}
		// Cancelled mid-stream, the exec'd process is killed.
		var ready syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := r.ExecStream(ctx, pod.UID, id, []string{"sh", "-c", "echo ready; exec sleep 997"}, sandbox.Streams{Stdout: &ready})
			done <- err
		}()
		ready.waitFor(t, "ready", 20*time.Second, nil)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled exec: %v, want context.Canceled", err)
		}
		if ps := execOK(t, r, pod.UID, id, "ps", "-o", "args"); strings.Contains(ps, "sleep 997") {
			t.Errorf("the cancelled exec's process is left:\n%s", ps)
		}
		a := attach(t, r, pod.UID, id, true, nil, false)
		io.WriteString(a.stdin, "attached\n")
		a.stdout.waitFor(t, "attached\n", 20*time.Second, nil)
	})
}
