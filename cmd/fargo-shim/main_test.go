package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/shim"
)

var shimBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fargo-shim-test")
	if err != nil {
		panic(err)
	}
	shimBin = filepath.Join(dir, "fargo-shim")
	build := exec.Command("go", "build", "-ldflags", "-s -w", "-o", shimBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("build fargo-shim: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The shim runs once per container: it must stay small, so it may use the
// standard library, x/sys and its own package only.
func TestDependsOnNoKubernetes(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := regexp.MustCompile(`^(golang\.org/x/sys/|github\.com/fargo-dev/fargo/(internal/shim|internal/vmproto|internal/vmrelay|cmd/fargo-shim)$)`)
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") && !allowed.MatchString(pkg) {
			t.Errorf("fargo-shim depends on %s: keep it to the standard library and golang.org/x/sys", pkg)
		}
	}
}

// fakeRuntime is an OCI runtime stand-in: "run" starts $FAKE_SCRIPT
// with the runtime's stdout and stderr (and stdin, with $FAKE_STDIN), as
// runc's pass-through stdio does, and writes its pid; $FAKE_FAIL makes
// run fail. The script begins only once the runtime is gone: a shell may
// reap a background child that ends while it still runs, which would take
// the container's exit status from the shim (runc never waits for it).
const fakeRuntime = `#!/bin/sh
cmd=$1; shift
case "$cmd" in
run)
  if [ -n "$FAKE_FAIL" ]; then echo "$FAKE_FAIL" >&2; exit 1; fi
  while [ $# -gt 1 ]; do
    if [ "$1" = --pid-file ]; then pidfile=$2; shift; fi
    shift
  done
  script="while kill -0 $$ 2>/dev/null; do sleep 0.01; done; $FAKE_SCRIPT"
  if [ -n "$FAKE_STDIN" ]; then exec 3<&0; sh -c "$script" <&3 3<&- & else sh -c "$script" </dev/null & fi
  echo $! > "$pidfile" ;;
esac
exit 0
`

type shimRun struct {
	report  shim.StartReport
	cmd     *exec.Cmd
	dir     string
	logPath string
}

// startShim runs "fargo-shim run" with the fake runtime and reads its
// start report.
func startShim(t *testing.T, script, fail string, flags ...string) shimRun {
	t.Helper()
	dir := t.TempDir()
	runtime := filepath.Join(dir, "fake-runtime")
	if err := os.WriteFile(runtime, []byte(fakeRuntime), 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	os.Mkdir(bundle, 0o755)
	run := shimRun{dir: dir, logPath: filepath.Join(dir, "logs", "0.log")}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer reportR.Close()
	run.cmd = exec.Command(shimBin, "run", "--id", "c1", "--bundle", bundle, "--runtime", runtime,
		"--log", run.logPath, "--exit-file", filepath.Join(dir, "exit.json"))
	run.cmd.Args = append(run.cmd.Args, flags...)
	run.cmd.Dir = dir // as the agent runs it: in the container's dir
	run.cmd.Env = append(os.Environ(), "FAKE_SCRIPT="+script, "FAKE_FAIL="+fail, "GOMAXPROCS=1")
	if slices.Contains(flags, "--stdin") {
		run.cmd.Env = append(run.cmd.Env, "FAKE_STDIN=1")
	}
	run.cmd.ExtraFiles = []*os.File{reportW}
	run.cmd.Stderr = os.Stderr
	run.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := run.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reportW.Close()
	t.Cleanup(func() { run.cmd.Process.Kill(); run.cmd.Wait() })
	line, err := bufio.NewReader(reportR).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &run.report) != nil {
		t.Fatalf("start report %q: %v", line, err)
	}
	return run
}

func TestRun(t *testing.T) {
	long := strings.Repeat("x", shim.MaxLogLine*2+10)
	for _, tc := range []struct {
		name, script string
		code         int
		signal       string
		log          []string
	}{
		{"output and exit code", "sleep 0.1; echo hello; sleep 0.1; echo oops >&2; sleep 0.1; echo bye; exit 3", 3, "", []string{"stdout F hello", "stderr F oops", "stdout F bye"}},
		{"killed by a signal", "kill -9 $$", 137, "SIGKILL", nil},
		{"long line split", "echo " + long, 0, "", []string{
			"stdout P " + long[:shim.MaxLogLine], "stdout P " + long[shim.MaxLogLine:2*shim.MaxLogLine], "stdout F " + long[2*shim.MaxLogLine:]}},
		{"unterminated last line is partial", "printf 'a\\nb'", 0, "", []string{"stdout F a", "stdout P b"}},
		// An orphan is reparented to the shim, which reaps it; its output
		// still reaches the log.
		{"orphan outlives the main process", "(sleep 0.2; echo late) & exit 0", 0, "", []string{"stdout F late"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := startShim(t, tc.script, "")
			if run.report.Error != "" || run.report.Pid <= 0 {
				t.Fatalf("report = %+v, want a pid", run.report)
			}
			if err := run.cmd.Wait(); err != nil {
				t.Fatalf("shim: %v", err)
			}
			exit, err := shim.ReadExitFile(filepath.Join(run.dir, "exit.json"))
			if err != nil {
				t.Fatal(err)
			}
			if exit.ExitCode != tc.code || exit.Signal != tc.signal || exit.FinishedAt.Before(exit.StartedAt) {
				t.Fatalf("exit = %+v, want code %d signal %q", exit, tc.code, tc.signal)
			}
			if got := logEntries(t, run.logPath); strings.Join(got, "\n") != strings.Join(tc.log, "\n") {
				t.Fatalf("log = %.200q, want %.200q", got, tc.log)
			}
		})
	}
}

func TestRunReportsStartFailure(t *testing.T) {
	run := startShim(t, "true", "container_linux.go: exec: \"nope\": executable file not found")
	if !strings.Contains(run.report.Error, "executable file not found") {
		t.Fatalf("report error = %q, want the runtime's message", run.report.Error)
	}
	if err := run.cmd.Wait(); err == nil {
		t.Fatal("shim exited 0 after a failed start")
	}
	if _, err := os.Stat(filepath.Join(run.dir, "exit.json")); err == nil {
		t.Fatal("exit file written for a container that never started")
	}
}

func TestRunReopensLogOnSignal(t *testing.T) {
	run := startShim(t, "i=0; while true; do echo $i; i=$((i+1)); sleep 0.02; done", "")
	time.Sleep(100 * time.Millisecond)
	rotated := run.logPath + ".1"
	if err := os.Rename(run.logPath, rotated); err != nil {
		t.Fatal(err)
	}
	if err := run.cmd.Process.Signal(shim.ReopenSignal); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(run.report.Pid, syscall.SIGKILL)
	if err := run.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	old, cur := logEntries(t, rotated), logEntries(t, run.logPath)
	if len(old) == 0 || len(cur) == 0 {
		t.Fatalf("rotated log has %d entries, new log %d: want both some", len(old), len(cur))
	}
	last, _ := strconv.Atoi(strings.TrimPrefix(old[len(old)-1], "stdout F "))
	first, _ := strconv.Atoi(strings.TrimPrefix(cur[0], "stdout F "))
	if first != last+1 {
		t.Fatalf("rotated log ends at %d, new log starts at %d: want no line lost or repeated", last, first)
	}
}

// logEntries returns a CRI log's entries without their time stamps.
func logEntries(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		ts, rest, _ := strings.Cut(line, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Fatalf("log line %.80q: %v", line, err)
		}
		out = append(out, rest)
	}
	return out
}

// TestShimMemory reports the resident memory of a shim copying a running
// container's output; the goal is at most 3 MiB.
func TestShimMemory(t *testing.T) {
	// As the agent runs it: serving attach.
	run := startShim(t, "while true; do echo tick; sleep 0.05; done", "", "--attach-socket", "attach.sock")
	time.Sleep(300 * time.Millisecond)
	rss, anon := memKiB(t, run.cmd.Process.Pid)
	t.Logf("shim RSS %d KiB (%d KiB anonymous; the rest is the binary's pages, shared by all shims)", rss, anon)
	if rss > 4096 {
		t.Errorf("shim RSS %d KiB, want at most 3 MiB (goal) and never over 4 MiB", rss)
	}
	syscall.Kill(run.report.Pid, syscall.SIGKILL)
}

// memKiB returns a process's VmRSS and RssAnon.
func memKiB(t *testing.T, pid int) (rss, anon int) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, v, _ := strings.Cut(line, ":")
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch name {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		}
	}
	return rss, anon
}
