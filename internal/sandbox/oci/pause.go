package oci

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Before pinned namespaces (podns.go), a pod's IPC and UTS namespaces
// were held by a pause process ("fargo-shim pause") recorded in
// pods/<uid>/pause.json. Pods an earlier agent made that way keep
// running: their containers join the pause's namespaces, and RemovePod
// stops it.

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

// stopPause kills the pod's recorded pause process, if it has one, and
// waits until it is gone.
func (r *Runtime) stopPause(uid string) error {
	p, ok := r.readPause(uid)
	if !ok {
		return nil
	}
	if err := p.kill(unix.SIGKILL); err != nil {
		return err
	}
	if !p.waitGone(5 * time.Second) {
		return fmt.Errorf("pause process %d did not end after SIGKILL", p.Pid)
	}
	return nil
}

// shimEnv is the environment of shim processes: one P is plenty for
// copying two pipes, and each P costs memory in every one.
func shimEnv() []string {
	return append(os.Environ(), "GOMAXPROCS=1")
}
