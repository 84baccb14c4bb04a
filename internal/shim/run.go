package shim

import (
	"bytes"
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
	// LogPath is the CRI log file; ExitFile where the exit status goes.
	LogPath  string
	ExitFile string
	// PidFile is where the runtime writes the container's pid; default
	// Bundle/container.pid.
	PidFile string
	// Report receives the StartReport line; it is closed after it.
	Report io.WriteCloser
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
	c, err := startContainer(cfg)
	if err != nil {
		return reportFailure(cfg, err)
	}
	report(cfg.Report, StartReport{Pid: c.pid, StartedAt: c.startedAt})

	var copying sync.WaitGroup
	for stream, r := range map[string]*os.File{"stdout": c.stdout, "stderr": c.stderr} {
		copying.Go(func() {
			if err := log.Copy(stream, r); err != nil {
				fmt.Fprintf(os.Stderr, "shim: reading %s: %v\n", stream, err)
			}
		})
	}
	status := waitContainer(c.pid)
	status.StartedAt = c.startedAt
	waitTimeout(&copying, drainTimeout)
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
			f, err := openLog(path)
			if err != nil {
				fmt.Fprintf(os.Stderr, "shim: reopen log: %v\n", err)
				continue
			}
			log.SetOutput(f)
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
// ends of its output pipes.
type started struct {
	pid            int
	startedAt      time.Time
	stdout, stderr *os.File
}

// startContainer runs the runtime's "run --detach" with the output pipes
// as its stdout and stderr, which the container's process inherits. One
// "run" instead of "create" and "start" saves a runtime process start
// (about 25 ms of runc's). On failure nothing of the container is left.
func startContainer(cfg RunConfig) (started, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return started{}, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return started{}, err
	}
	run := runtimeCommand(cfg, "run", "--detach", "--bundle", cfg.Bundle, "--pid-file", cfg.PidFile, cfg.ID)
	run.Stdout, run.Stderr = outW, errW
	runErr := run.Run()
	outW.Close()
	errW.Close()
	var pid int
	if runErr == nil {
		pid, runErr = readPidFile(cfg.PidFile)
	} else {
		// The runtime's own error message went to our stderr pipe.
		runErr = runtimeError("run", runErr, readAllTimeout(errR, drainTimeout))
	}
	if runErr != nil {
		outR.Close()
		errR.Close()
		deleteContainer(cfg)
		return started{}, runErr
	}
	return started{pid: pid, startedAt: time.Now().UTC(), stdout: outR, stderr: errR}, nil
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
	if err := del.Run(); err != nil {
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

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		fmt.Fprintln(os.Stderr, "shim: output pipes still open after the container exited; exit file written anyway")
	}
}
