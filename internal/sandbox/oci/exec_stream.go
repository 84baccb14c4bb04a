package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

// ExecStream runs argv in the running attempt id through the runtime's
// exec, which takes the container's namespaces, cgroup, user,
// environment and working directory, connected to s. Without TTY the
// process's stdio are pipes (the end of s.Stdin closes its stdin); with
// TTY the runtime runs in the foreground on a terminal this Runtime owns
// and gives the process a terminal of the container's, whose size it
// takes from the outer one on SIGWINCH. A process that cannot start is
// an error with the runtime's message; when ctx ends the process is
// killed.
//
// Every goroutine and file of the session ends before ExecStream
// returns, except the copy of s.Stdin: an io.Reader cannot be
// interrupted, so it ends when s.Stdin's Read returns (the caller closes
// the stream).
func (r *Runtime) ExecStream(ctx context.Context, uid, id string, argv []string, s sandbox.Streams) (int, error) {
	if err := errors.Join(validName("pod UID", uid), validName("container ID", id)); err != nil {
		return -1, err
	}
	if len(argv) == 0 {
		return -1, errors.New("oci: exec: empty command")
	}
	st, err := r.status(uid, id)
	if err != nil {
		return -1, err
	}
	if st.State != sandbox.StateRunning {
		return -1, fmt.Errorf("oci: exec in %s: the container is not running (%s)", id, st.State)
	}
	files, err := r.newExecFiles(uid, id, s.TTY)
	if err != nil {
		return -1, fmt.Errorf("oci: exec in %s: %w", id, err)
	}
	defer files.remove()
	if files.process != "" {
		if err := writeTerminalProcess(r.containerDir(uid, id), files.process, argv); err != nil {
			return -1, fmt.Errorf("oci: exec in %s: %w", id, err)
		}
	}
	pidFile := files.pid
	cmd := streamExecCommand(r.oci, files, id, s.TTY, argv)
	kill := r.execKiller(files, id)
	var code int
	var gate *startGate
	switch {
	case files.console != nil:
		gate = newStartGate(pidFile, s.Stdout)
		code, err = r.oci.execOnConsole(ctx, cmd, files.console, kill, gate, s)
	case s.TTY:
		gate = newStartGate(pidFile, s.Stdout)
		code, err = r.oci.execOnTerminal(ctx, cmd, kill, gate, s)
	default:
		gate = newStartGate(pidFile, s.Stderr)
		code, err = r.oci.execOnPipes(ctx, cmd, kill, gate, s)
	}
	if err != nil {
		gate.finish(true)
		return code, fmt.Errorf("oci: exec in %s: %w", id, err)
	}
	// A runtime that exited 0 ran the process, pid file or not.
	started := code == 0 || fileExists(pidFile)
	if msg := runtimeMessage(gate.finish(started)); !started {
		if msg == "" {
			msg = fmt.Sprintf("%s exec failed with exit code %d and no message", r.oci.name, code)
		}
		return code, fmt.Errorf("oci: exec in %s: %s", id, msg)
	}
	return code, nil
}

// execFiles are the files of one exec in the container's dir: the pid
// file the runtime writes once the process runs; for runsc, the
// process's pid in its sandbox (internal), and the process with a
// terminal (runsc has no --tty); for a runtime that sends the process's
// terminal (consoleExec), the console socket.
type execFiles struct {
	pid, internal, process string
	console                *shim.ConsoleSocket
}

func (r *Runtime) newExecFiles(uid, id string, tty bool) (execFiles, error) {
	base := filepath.Join(r.containerDir(uid, id), "exec-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	f := execFiles{pid: base + ".pid"}
	if r.oci.name == "runsc" {
		f.internal = base + ".ipid"
		if tty {
			f.process = base + ".json"
		}
	}
	if tty && r.oci.consoleExec {
		var err error
		f.console, err = shim.NewConsoleSocket()
		return f, err
	}
	return f, nil
}

func (f execFiles) remove() {
	for _, p := range []string{f.pid, f.internal, f.process} {
		if p != "" {
			os.Remove(p)
		}
	}
	if f.console != nil {
		f.console.Close()
	}
}

// streamExecCommand is the runtime's exec of argv in container id, with
// a terminal for the process when tty.
func streamExecCommand(o ociRuntime, files execFiles, id string, tty bool, argv []string) *exec.Cmd {
	all := append(append([]string{}, o.argv...), "exec", "--pid-file", files.pid)
	if files.internal != "" {
		all = append(all, "--internal-pid-file", files.internal)
	}
	switch {
	case files.process != "":
		all = append(all, "--process", files.process, id)
	case files.console != nil:
		all = append(append(all, "--tty", "--console-socket", files.console.Path(), id), argv...)
	case tty:
		all = append(append(all, "--tty", id), argv...)
	default:
		all = append(append(all, id), argv...)
	}
	cmd := exec.Command(all[0], all[1:]...)
	// Output still copying this long after the runtime ended is held by
	// a process the exec left in the background: stop waiting for it.
	cmd.WaitDelay = execPipeGrace
	return cmd
}

// execKiller returns what kills an exec'd process, once the runtime has
// started it: false until then. runc and crun write the process's pid;
// runsc writes its own, and the process's pid in the sandbox to the
// internal pid file, for "runsc kill --pid".
func (r *Runtime) execKiller(files execFiles, id string) func() bool {
	if files.internal == "" {
		return func() bool {
			pid := readPid(files.pid)
			return pid > 0 && unix.Kill(pid, unix.SIGKILL) == nil
		}
	}
	return func() bool {
		pid := readPid(files.internal)
		return pid > 0 && r.oci.run(context.Background(), "kill", "--pid", strconv.Itoa(pid), id, "KILL") == nil
	}
}

// writeTerminalProcess writes the container's process (user,
// environment, directory, capabilities) with argv and a terminal, for an
// exec --process.
func writeTerminalProcess(containerDir, path string, argv []string) error {
	data, err := os.ReadFile(filepath.Join(containerDir, "bundle", "config.json"))
	if err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil || spec.Process == nil {
		return fmt.Errorf("the container's config.json has no process (%v): remove and start it again", err)
	}
	spec.Process.Args, spec.Process.Terminal = argv, true
	if data, err = json.Marshal(spec.Process); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// execOnPipes runs cmd with pipes for stdio; the runtime's stderr goes
// through gate.
func (o ociRuntime) execOnPipes(ctx context.Context, cmd *exec.Cmd, kill func() bool, gate *startGate, s sandbox.Streams) (int, error) {
	if s.Stdout != nil {
		cmd.Stdout = openingWriter{gate, s.Stdout}
	}
	cmd.Stderr = gate
	var stdin *os.File
	if s.Stdin != nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			return -1, err
		}
		defer pr.Close()
		cmd.Stdin, stdin = pr, pw
	}
	if err := o.start(cmd); err != nil {
		if stdin != nil {
			stdin.Close()
		}
		return -1, err
	}
	if stdin != nil {
		// The process's copy is its stdin; ours would keep it from
		// seeing EOF.
		cmd.Stdin.(*os.File).Close()
		go copyClose(stdin, s.Stdin)
		// Closing our end ends a copy blocked on a full pipe.
		defer stdin.Close()
	}
	return waitExec(ctx, cmd, kill, waitFor(cmd))
}

// openingWriter opens gate on the first output: a process that writes
// runs.
type openingWriter struct {
	gate *startGate
	w    io.Writer
}

func (o openingWriter) Write(p []byte) (int, error) {
	o.gate.running()
	return o.w.Write(p)
}

// copyClose copies r to w and closes w, so the process sees EOF.
func copyClose(w *os.File, r io.Reader) {
	_, _ = io.Copy(w, r)
	w.Close()
}

// execOnTerminal runs cmd on a new terminal, as its controlling terminal
// so that resizes reach it as SIGWINCH (runc passes them on to the
// process's terminal).
func (o ociRuntime) execOnTerminal(ctx context.Context, cmd *exec.Cmd, kill func() bool, gate *startGate, s sandbox.Streams) (int, error) {
	master, slave, err := openPTY()
	if err != nil {
		return -1, err
	}
	defer master.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = o.start(cmd)
	slave.Close()
	if err != nil {
		return -1, err
	}
	return serveTerminal(ctx, master, cmd, kill, waitFor(cmd), gate, s)
}

// execOnConsole runs cmd, an exec whose runtime sends the process's
// terminal to console and waits for the process (crun, which passes on
// no resize of a terminal of its own), and serves that terminal. The
// runtime's own messages go to gate.
func (o ociRuntime) execOnConsole(ctx context.Context, cmd *exec.Cmd, console *shim.ConsoleSocket, kill func() bool, gate *startGate, s sandbox.Streams) (int, error) {
	cmd.Stdout, cmd.Stderr = gate, gate
	if err := o.start(cmd); err != nil {
		return -1, err
	}
	ended, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		cancel() // no terminal comes once the runtime ended
	}()
	master, err := console.Receive(ended)
	if err != nil {
		// The runtime failed before it made one: its message is in gate.
		return waitExec(ctx, cmd, kill, done)
	}
	defer master.Close()
	return serveTerminal(ctx, master, cmd, kill, done, gate, s)
}

// serveTerminal connects s to a terminal's master until the exec ends
// (done): input in, output out through gate, resizes applied.
func serveTerminal(ctx context.Context, master *os.File, cmd *exec.Cmd, kill func() bool, done <-chan error, gate *startGate, s sandbox.Streams) (int, error) {
	stop := make(chan struct{})
	waitResizes := applyResizes(s.Resize, stop, func(size sandbox.TerminalSize) error { return setWinsize(master, size) })
	defer func() {
		close(stop)
		waitResizes()
	}()
	if s.Stdin != nil {
		go func() { _, _ = io.Copy(master, s.Stdin) }()
	}
	output := make(chan struct{})
	go func() {
		// The master reads EIO once the last holder of the slave (the
		// process, or the runtime) has exited: that is the end of the
		// output.
		_, _ = io.Copy(gate, master)
		close(output)
	}()
	code, err := waitExec(ctx, cmd, kill, done)
	select {
	case <-output:
	case <-time.After(execPipeGrace):
		master.Close()
		<-output
	}
	return code, err
}

// waitFor waits for the started cmd; the channel gets Wait's result.
func waitFor(cmd *exec.Cmd) <-chan error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done
}

// waitExec waits for the runtime's exec to end (done, from waitFor), or
// kills the process when ctx ends.
func waitExec(ctx context.Context, cmd *exec.Cmd, kill func() bool, done <-chan error) (int, error) {
	select {
	case err := <-done:
		return exitCode(cmd, err)
	case <-ctx.Done():
		stopExec(cmd, kill, done)
		return -1, ctx.Err()
	}
}

// exitCode is the exit code of the runtime's exec, which is the
// process's (128+N when signal N killed it).
func exitCode(cmd *exec.Cmd, err error) (int, error) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode(), nil
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil:
		return cmd.ProcessState.ExitCode(), nil
	}
	return -1, err
}

// stopExec kills an exec'd process and waits for the runtime's exec to
// end. The process is killed once the runtime started it: the runtime
// cannot forward SIGKILL, and killing the runtime in the middle of
// starting the process could leave the process running.
func stopExec(cmd *exec.Cmd, kill func() bool, done <-chan error) {
	for deadline := time.Now().Add(killWait); !kill() && time.Now().Before(deadline); {
		select {
		case <-done:
			return
		case <-time.After(gateRecheck):
		}
	}
	select {
	case <-done:
		return
	case <-time.After(execPipeGrace):
	}
	_ = cmd.Process.Kill()
	<-done
}

func readPid(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
