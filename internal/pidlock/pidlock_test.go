package pidlock

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A test binary run with PIDLOCK_HOLD=path holds that lock until it is
// killed; with PIDLOCK_IGNORE_TERM set it ignores SIGTERM.
func TestMain(m *testing.M) {
	if path := os.Getenv("PIDLOCK_HOLD"); path != "" {
		if os.Getenv("PIDLOCK_IGNORE_TERM") != "" {
			signal.Ignore(syscall.SIGTERM)
		}
		if _, err := Acquire(path); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts a process holding the lock at path and waits until it
// says so.
func holder(t *testing.T, path string, ignoreTerm bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PIDLOCK_HOLD="+path)
	if ignoreTerm {
		cmd.Env = append(cmd.Env, "PIDLOCK_IGNORE_TERM=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || !strings.HasPrefix(string(buf), "held") {
		t.Fatalf("holder did not take the lock: %q %v", buf, err)
	}
	return cmd
}

func TestAcquireRefusesSecondHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	cmd := holder(t, path, false)
	_, err := Acquire(path)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Acquire: %v, want ErrHeld naming pid %d", err, cmd.Process.Pid)
	}
	if got := Holder(path); got != cmd.Process.Pid {
		t.Errorf("Holder %d, want %d", got, cmd.Process.Pid)
	}
}

func TestStopEndsHolder(t *testing.T) {
	for _, ignoreTerm := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), ".lock")
		cmd := holder(t, path, ignoreTerm)
		timeout := 10 * time.Second
		if ignoreTerm {
			timeout = 300 * time.Millisecond
		}
		pid, err := Stop(path, timeout)
		if err != nil || pid != cmd.Process.Pid {
			t.Fatalf("Stop (SIGTERM ignored: %v): pid %d, %v; want %d", ignoreTerm, pid, err, cmd.Process.Pid)
		}
		if Holder(path) != 0 {
			t.Error("lock still held after Stop")
		}
		l, err := Acquire(path)
		if err != nil {
			t.Fatalf("Acquire after Stop: %v", err)
		}
		l.Release()
	}
}

func TestStopWithoutHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if pid, err := Stop(path, time.Second); pid != 0 || err != nil {
		t.Errorf("Stop of a free lock: %d, %v", pid, err)
	}
}
