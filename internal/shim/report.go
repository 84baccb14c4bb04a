// Package shim is the small process that stands between the node agent and
// one container attempt, like conmon or containerd-shim. It owns the
// container's stdout and stderr (copied into a CRI log file), its stdin
// or terminal (served to attach clients on a unix socket, see
// attachproto.go) and its exit status (written to an exit file), so none
// depends on the agent staying up. The same binary (cmd/fargo-shim) also plays the pod's pause process,
// which holds the pod's IPC and UTS namespaces, and a tiny wrapper that runs
// an OCI runtime in a private mount namespace.
//
// The package uses only the standard library and golang.org/x/sys so that
// the shim stays a few MiB of memory per container; it must never import
// Kubernetes packages.
package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StartReport is the one JSON line the shim writes to its report fd once
// the container runs (Pid set) or failed to start (Error set).
type StartReport struct {
	Pid       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// ExitStatus is the content of the exit file the shim writes when the
// container's process has ended and its output is in the log.
type ExitStatus struct {
	// ExitCode is the process's exit code, or 128+N when signal N killed it.
	ExitCode int `json:"exitCode"`
	// Signal names the signal that killed the process ("SIGKILL"), if any.
	Signal     string    `json:"signal,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

// ReadExitFile reads an exit file; the error wraps fs.ErrNotExist while the
// container has not exited.
func ReadExitFile(path string) (ExitStatus, error) {
	var st ExitStatus
	data, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("exit file %s is not valid JSON (%v): remove the container and run it again", path, err)
	}
	return st, nil
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename, so a reader sees either nothing or the whole content.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// WriteExitFile writes st to path atomically.
func WriteExitFile(path string, st ExitStatus) error {
	return WriteFileAtomic(path, append(st.appendJSON(nil), '\n'))
}
