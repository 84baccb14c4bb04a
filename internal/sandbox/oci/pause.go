package oci

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/shim"
)

// The pause process ("fargo-shim pause") is the pod's namespace holder: it
// is started straight from here in new IPC and UTS namespaces and sets
// the pod's hostname itself. Running it as a runc container would cost a
// second runc create/start per pod (tens of milliseconds) and a bundle,
// for nothing the two clone flags do not give.

// pauseReadyTimeout bounds the wait for the pause process to set up.
const pauseReadyTimeout = 10 * time.Second

func (r *Runtime) pauseFile(uid string) string {
	return filepath.Join(r.podDir(uid), "pause.json")
}

// readPause returns the pod's pause process if it still runs.
func (r *Runtime) readPause(uid string) (processRef, bool) {
	var p processRef
	data, err := os.ReadFile(r.pauseFile(uid))
	if err != nil || json.Unmarshal(data, &p) != nil {
		return p, false
	}
	return p, p.alive() && isPauseOf(p.Pid, uid)
}

// isPauseOf checks the process's command line, so that a reused pid is
// never taken for the pod's pause.
func isPauseOf(pid int, uid string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(string(data), "\x00")
	return len(args) > 1 && args[1] == "pause" && strings.Contains(string(data), "\x00"+uid+"\x00")
}

// ensurePause starts the pod's pause process unless it runs.
func (r *Runtime) ensurePause(ctx context.Context, rec podRecord) (processRef, error) {
	if p, ok := r.readPause(rec.UID); ok {
		return p, nil
	}
	// An unrecorded pause is a previous agent's that died before writing
	// the record: it goes, so the pod has exactly one.
	if err := r.stopPause(rec.UID); err != nil {
		return processRef{}, err
	}
	p, err := r.startPause(ctx, rec)
	if err != nil {
		return p, fmt.Errorf("oci: pod %s: start pause process: %w", rec.UID, err)
	}
	data, _ := json.Marshal(p)
	if err := shim.WriteFileAtomic(r.pauseFile(rec.UID), data); err != nil {
		p.kill(unix.SIGKILL)
		return p, err
	}
	return p, nil
}

func (r *Runtime) startPause(ctx context.Context, rec podRecord) (processRef, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return processRef{}, err
	}
	defer readyR.Close()
	cmd := exec.Command(r.cfg.ShimPath, "pause", "--hostname", rec.Hostname, "--pod", rec.UID, "--ready-fd", "3")
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Dir = "/"
	cmd.Env = shimEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		// Its own session: it outlives the agent and its terminal.
		Setsid: true,
	}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return processRef{}, err
	}
	// Reap it when it ends while this agent runs.
	go cmd.Wait()
	kill := func(err error) (processRef, error) {
		cmd.Process.Kill()
		return processRef{}, err
	}
	if err := waitReady(ctx, readyR); err != nil {
		return kill(err)
	}
	ref, err := refOf(cmd.Process.Pid)
	if err != nil {
		return kill(err)
	}
	if err := r.cgroups.addProcess(rec.Cgroup+"/pause", ref.Pid); err != nil {
		return kill(err)
	}
	return ref, nil
}

// waitReady waits for the pause process's ready line.
func waitReady(ctx context.Context, ready *os.File) error {
	ctx, cancel := context.WithTimeout(ctx, pauseReadyTimeout)
	defer cancel()
	if deadline, ok := ctx.Deadline(); ok {
		_ = ready.SetReadDeadline(deadline)
	}
	line, err := bufio.NewReader(ready).ReadString('\n')
	if line == shim.PauseReady {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("unexpected %q", line)
	}
	return fmt.Errorf("pause process did not get ready: %v (see the agent's log)", err)
}

// stopPause kills the pod's pause processes and waits until they are
// gone: the recorded one, and any an agent killed between starting one
// and recording it left behind.
func (r *Runtime) stopPause(uid string) error {
	var errs []error
	for _, p := range pausesOf(uid) {
		if err := p.kill(unix.SIGKILL); err != nil {
			errs = append(errs, err)
			continue
		}
		if !p.waitGone(5 * time.Second) {
			errs = append(errs, fmt.Errorf("pause process %d did not end after SIGKILL", p.Pid))
		}
	}
	return errors.Join(errs...)
}

// pausesOf finds the running pause processes of pod uid by their
// command lines.
func pausesOf(uid string) []processRef {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var found []processRef
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || !isPauseOf(pid, uid) {
			continue
		}
		if ref, err := refOf(pid); err == nil {
			found = append(found, ref)
		}
	}
	return found
}

// shimEnv is the environment of shim and pause processes: one P is
// plenty for copying two pipes, and each P costs memory in every one.
func shimEnv() []string {
	return append(os.Environ(), "GOMAXPROCS=1")
}
