package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// maxExecOutput caps the output Exec keeps.
const maxExecOutput = 64 << 10

// execPipeGrace is how long Exec waits for the output pipe to close once
// the command ended (a background child may hold it).
const execPipeGrace = time.Second

// Exec runs argv in the running attempt id, with the container's user,
// environment and working directory, and returns its interleaved output
// and exit code. After timeout the command is killed and an error
// returned with what it printed.
func (r *Runtime) Exec(ctx context.Context, uid, id string, argv []string, timeout time.Duration) (sandbox.ExecResult, error) {
	if err := errors.Join(validName("pod UID", uid), validName("container ID", id)); err != nil {
		return sandbox.ExecResult{}, err
	}
	if len(argv) == 0 {
		return sandbox.ExecResult{}, errors.New("oci: exec: empty command")
	}
	if _, err := r.readState(uid, id); err != nil {
		return sandbox.ExecResult{}, err
	}
	pidFile := filepath.Join(r.containerDir(uid, id), "exec-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".pid")
	defer os.Remove(pidFile)
	out := &cappedBuffer{max: maxExecOutput}
	cmd := r.oci.execCommand(pidFile, id, argv)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = execPipeGrace
	if err := r.oci.start(cmd); err != nil {
		return sandbox.ExecResult{}, fmt.Errorf("oci: exec in %s: %w", id, err)
	}
	done := waitFor(cmd)
	var timer <-chan time.Time
	if timeout > 0 {
		timer = time.After(timeout)
	}
	var err error
	select {
	case err = <-done:
	case <-timer:
		killExec(cmd, pidFile)
		<-done
		return sandbox.ExecResult{ExitCode: -1, Output: out.Bytes()}, fmt.Errorf("oci: exec in %s: timed out after %v: the command was killed", id, timeout)
	case <-ctx.Done():
		killExec(cmd, pidFile)
		<-done
		return sandbox.ExecResult{ExitCode: -1, Output: out.Bytes()}, fmt.Errorf("oci: exec in %s: %w", id, ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return sandbox.ExecResult{Output: out.Bytes()}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return sandbox.ExecResult{ExitCode: exitErr.ExitCode(), Output: out.Bytes()}, nil
	}
	return sandbox.ExecResult{Output: out.Bytes()}, fmt.Errorf("oci: exec in %s: %w", id, err)
}

// killExec kills the exec'd process (the runtime's exec only waits for it;
// SIGKILL cannot be forwarded) and then the runtime's process.
func killExec(cmd *exec.Cmd, pidFile string) {
	if data, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	_ = cmd.Process.Kill()
}

// cappedBuffer keeps the first max bytes written and drops the rest,
// still accepting them so the writer never blocks.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}
