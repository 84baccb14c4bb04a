package shim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RunConfig is one container attempt for the shim to run.
type RunConfig struct {
	// ID is the container's ID for the OCI runtime; Bundle its bundle dir.
	ID     string
	Bundle string
	// Runtime is the OCI runtime binary (or a wrapper of it); RuntimeArgs
	// come before its subcommand, e.g. --root DIR.
	Runtime     string
	RuntimeArgs []string
	// RuntimeUnmount are mounts the runtime must not see: it runs in a
	// private mount namespace without them (StartWithout).
	RuntimeUnmount []string
	// LogPath is the CRI log file; ExitFile where the exit status goes.
	LogPath  string
	ExitFile string
	// PidFile is where the runtime writes the container's pid; default
	// Bundle/container.pid.
	PidFile string
	// Report receives the StartReport line; it is closed after it.
	Report io.WriteCloser
	// Stdin gives the container a stdin that the shim holds open for
	// attach clients (else it reads /dev/null); StdinOnce closes it when
	// the first client that wrote to it detaches. TTY runs the container
	// with a terminal (process.terminal must be set in its config), whose
	// output is logged as stdout.
	Stdin, StdinOnce, TTY bool
	// AttachSocket is where the shim serves attach clients (see
	// attachproto.go); empty for none.
	AttachSocket string
}

// drainTimeout bounds how long the shim waits, after the container's
// process ended, for its output pipes to close; a process that escaped the
// container's pid namespace with a copy of stdout must not keep the exit
// status from being written.
const drainTimeout = 2 * time.Second

// Run runs the container attempt to its end: start it with the runtime,
// report the start, copy its output into the log, wait for it
// and write the exit file. It returns an error only when the container did
// not start (already reported) or the exit file could not be written.
func Run(cfg RunConfig) error {
	if cfg.PidFile == "" {
		cfg.PidFile = filepath.Join(cfg.Bundle, "container.pid")
	}
	// Become the reaper of the container's process: it is runc's child,
	// and reparents to us when runc exits.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return reportFailure(cfg, fmt.Errorf("shim: set child subreaper: %w", err))
	}
	logFile, err := openLog(cfg.LogPath)
	if err != nil {
		return reportFailure(cfg, err)
	}
	log := NewCRILog(logFile)
	handleSignals(cfg.LogPath, log, logFile)
	// Listening before the start: a container that cannot be attached
	// to must not run.
	var ln *os.File
	if cfg.AttachSocket != "" {
		if ln, err = listenAttach(cfg.AttachSocket); err != nil {
			return reportFailure(cfg, err)
		}
	}
	c, err := startContainer(cfg)
	if err != nil {
		if ln != nil {
			ln.Close()
			os.Remove(cfg.AttachSocket)
		}
		return reportFailure(cfg, err)
	}
	var attach *attachServer
	if ln != nil {
		attach = serveAttach(ln, AttachInfo{TTY: cfg.TTY, Stdin: cfg.Stdin, StdinOnce: cfg.StdinOnce}, c.input, c.term)
	}
	report(cfg.Report, StartReport{Pid: c.pid, StartedAt: c.startedAt})

	var copying sync.WaitGroup
	for _, s := range c.outputs() {
		copying.Go(func() {
			if err := log.Copy(s.name, attach.tee(s.kind, s.r)); err != nil {
				fmt.Fprintf(os.Stderr, "shim: reading %s: %v\n", s.name, err)
			}
		})
	}
	status := waitContainer(c.pid)
	status.StartedAt = c.startedAt
	if !waitTimeout(&copying, drainTimeout) {
		fmt.Fprintln(os.Stderr, "shim: output pipes still open after the container exited; exit file written anyway")
	}
	attach.shutdown()
	closeFiles(c.input, c.term)
	if err := log.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "shim: writing log %s: %v\n", cfg.LogPath, err)
	}
	reapOrphans()
	return WriteExitFile(cfg.ExitFile, status)
}

// ReopenSignal makes the shim reopen its log file, after the log was
// rotated (renamed) by whoever rotates it (CRI's ReopenContainerLog).
const ReopenSignal = syscall.SIGUSR1

// handleSignals reopens the log on ReopenSignal, and ignores the
// terminal signals: the shim ends only when its container does. They are
// caught, not ignored: an ignored disposition would be inherited by the
// container's process through exec.
func handleSignals(path string, log *CRILog, current *os.File) {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, ReopenSignal)
	go func() {
		for sig := range signals {
			if sig != ReopenSignal {
				continue
			}
			var f *os.File
			err := log.Reopen(func() (io.Writer, error) {
				var err error
				f, err = openLog(path)
				return f, err
			})
			if err != nil {
				fmt.Fprintf(os.Stderr, "shim: reopen log: %v\n", err)
				continue
			}
			current.Close()
			current = f
		}
	}()
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("shim: create log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("shim: open log file: %w", err)
	}
	return f, nil
}

// started is a container whose process runs; the shim holds the read
// ends of its output pipes, or its terminal, and its stdin.
type started struct {
	pid            int
	startedAt      time.Time
	stdout, stderr *os.File
	// term is the terminal's master (TTY); input is where stdin goes:
	// the stdin pipe, term, or nil.
	term, input *os.File
}

// output is one stream of a container's output.
type output struct {
	name string
	kind byte
	r    io.Reader
}

func (c started) outputs() []output {
	if c.term != nil {
		return []output{{"stdout", AttachStdout, eofOnEIO{c.term}}}
	}
	return []output{{"stdout", AttachStdout, c.stdout}, {"stderr", AttachStderr, c.stderr}}
}

func closeFiles(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// startContainer runs the runtime's "run --detach" with the output pipes
// as its stdout and stderr, which the container's process inherits (or,
// with TTY, a console socket to receive its terminal on). One "run"
// instead of "create" and "start" saves a runtime process start (about
// 25 ms of runc's). On failure nothing of the container is left.
func startContainer(cfg RunConfig) (started, error) {
	files, err := newRunIO(cfg)
	if err != nil {
		return started{}, err
	}
	args := []string{"run", "--detach", "--bundle", cfg.Bundle, "--pid-file", cfg.PidFile}
	if files.console != nil {
		defer files.console.Close()
		args = append(args, "--console-socket", files.console.Path())
	}
	run := runtimeCommand(cfg, append(args, cfg.ID)...)
	run.Stdout, run.Stderr = files.outW, files.errW
	if files.inR != nil {
		run.Stdin = files.inR
	}
	runErr := RunWithout(run, cfg.RuntimeUnmount)
	closeFiles(files.outW, files.errW, files.inR)
	c := started{stdout: files.outR, stderr: files.errR, input: files.inW}
	if runErr == nil {
		c.pid, runErr = readPidFile(cfg.PidFile)
	} else {
		// The runtime's own error message went to our stderr pipe.
		runErr = runtimeError("run", runErr, readAllTimeout(files.errR, drainTimeout))
	}
	if runErr == nil && files.console != nil {
		// "run --detach" returned: the terminal waits in the socket.
		now, cancel := context.WithDeadline(context.Background(), time.Now())
		c.term, runErr = files.console.Receive(now)
		cancel()
		// The container's stdio is its terminal: the pipes carry nothing.
		closeFiles(c.stdout, c.stderr)
		c.stdout, c.stderr = nil, nil
		if cfg.Stdin {
			c.input = c.term
		}
	}
	if runErr != nil {
		closeFiles(c.stdout, c.stderr, c.input, c.term)
		deleteContainer(cfg)
		return started{}, runErr
	}
	c.startedAt = time.Now().UTC()
	return c, nil
}

// runIO are the files a container starts with: output pipes (which also
// carry the runtime's own errors), a stdin pipe when it has stdin and no
// terminal, and a console socket when it has a terminal.
type runIO struct {
	outR, outW, errR, errW, inR, inW *os.File
	console                          *ConsoleSocket
}

func newRunIO(cfg RunConfig) (runIO, error) {
	var files runIO
	var errs [3]error
	files.outR, files.outW, errs[0] = os.Pipe()
	files.errR, files.errW, errs[1] = os.Pipe()
	switch {
	case cfg.TTY:
		files.console, errs[2] = NewConsoleSocket()
	case cfg.Stdin:
		files.inR, files.inW, errs[2] = os.Pipe()
	}
	if err := errors.Join(errs[:]...); err != nil {
		closeFiles(files.outR, files.outW, files.errR, files.errW, files.inR, files.inW)
		if files.console != nil {
			files.console.Close()
		}
		return runIO{}, err
	}
	return files, nil
}

func runtimeCommand(cfg RunConfig, args ...string) *exec.Cmd {
	argv := append(append([]string{}, cfg.RuntimeArgs...), args...)
	cmd := exec.Command(cfg.Runtime, argv...)
	cmd.Dir = cfg.Bundle
	return cmd
}

// deleteContainer removes what a failed start left.
func deleteContainer(cfg RunConfig) {
	var out bytes.Buffer
	del := runtimeCommand(cfg, "delete", "--force", cfg.ID)
	del.Stdout, del.Stderr = &out, &out
	if err := RunWithout(del, cfg.RuntimeUnmount); err != nil {
		fmt.Fprintf(os.Stderr, "shim: delete after failed start: %v: %s\n", err, out.Bytes())
	}
}

// runtimeError is the runtime's own message (what runc prints is the
// most useful thing to show), or how it failed when it printed nothing.
func runtimeError(step string, err error, output []byte) error {
	if msg := strings.TrimSpace(string(output)); msg != "" {
		return errors.New(msg)
	}
	return fmt.Errorf("runtime %s: %w", step, err)
}

func readPidFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("runtime wrote no pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("runtime wrote a bad pid file %s: %q", path, data)
	}
	return pid, nil
}

// readAllTimeout reads f until EOF, at most 64 KiB, giving up after d.
func readAllTimeout(f *os.File, d time.Duration) []byte {
	_ = f.SetReadDeadline(time.Now().Add(d))
	data, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	return data
}

func reportFailure(cfg RunConfig, err error) error {
	report(cfg.Report, StartReport{Error: err.Error()})
	return err
}

// report writes one JSON line and closes w: the agent reads until EOF.
func report(w io.WriteCloser, r StartReport) {
	if w == nil {
		return
	}
	if _, err := w.Write(append(r.appendJSON(nil), '\n')); err != nil {
		// The agent may have gone away; the exit file still tells.
		fmt.Fprintf(os.Stderr, "shim: write start report: %v\n", err)
	}
	w.Close()
}

// waitTimeout waits for wg at most d and says whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
