package oci

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

// containerState is a container attempt's record (state.json): what a
// restarted agent needs to adopt it.
type containerState struct {
	ID      string `json:"id"`
	PodUID  string `json:"podUID"`
	Name    string `json:"name"`
	Attempt int    `json:"attempt"`
	LogPath string `json:"logPath"`
	Cgroup  string `json:"cgroup"`
	// PodOOMKillsAtStart is the pod cgroup's OOM kill count when the
	// attempt started, to tell an OOM kill once its own cgroup is gone.
	PodOOMKillsAtStart int64 `json:"podOOMKillsAtStart"`
	// Stdin, StdinOnce and TTY are the container's (shim flags).
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
	TTY       bool `json:"tty,omitempty"`
	// TerminationLog is the host file mounted at the container's
	// terminationMessagePath, if it has one.
	TerminationLog string `json:"terminationLog,omitempty"`
	// Shim and Process are zero until the shim reported the start.
	Shim      processRef `json:"shim"`
	Process   processRef `json:"process"`
	StartedAt time.Time  `json:"startedAt"`
}

// startTimeout bounds a start when the caller's context has no deadline.
const startTimeout = 2 * time.Minute

var containerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// containerID names an attempt: readable, and unique per pod, name and
// attempt.
func containerID(podUID, name string, attempt int) string {
	short := podUID
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Sprintf("%s-%s-%d", short, name, attempt)
}

func (r *Runtime) stateFile(uid, id string) string {
	return filepath.Join(r.containerDir(uid, id), "state.json")
}

func (r *Runtime) readState(uid, id string) (containerState, error) {
	var st containerState
	data, err := os.ReadFile(r.stateFile(uid, id))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("oci: container %s of pod %s: %w (%w)", id, uid, sandbox.ErrNotFound, err)
	}
	if err != nil {
		return st, fmt.Errorf("oci: container %s of pod %s: %w", id, uid, err)
	}
	return st, json.Unmarshal(data, &st)
}

func (r *Runtime) writeState(st containerState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return shim.WriteFileAtomic(r.stateFile(st.PodUID, st.ID), data)
}

// StartContainer creates and starts one attempt and returns once its
// process runs. Starting an attempt that exists returns its status.
func (r *Runtime) StartContainer(ctx context.Context, uid string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	if err := validName("pod UID", uid); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	if !containerNameRE.MatchString(cfg.Name) {
		return sandbox.ContainerStatus{}, fmt.Errorf("oci: invalid container name %q: use letters, digits, '-', '_' and '.'", cfg.Name)
	}
	lock := r.podLock(uid)
	lock.RLock()
	defer lock.RUnlock()
	pod, err := r.readPod(uid)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	namespaces, err := r.podNamespaces(uid)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	id := containerID(uid, cfg.Name, cfg.Attempt)
	if st, err := r.status(uid, id); err == nil && st.State != sandbox.StateCreated {
		return st, nil
	}
	// A directory without a usable state is a start cut short by a crash.
	if err := r.removeContainer(ctx, uid, id); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	st, err := r.startAttempt(ctx, pod, namespaces, id, cfg)
	if err != nil {
		if rmErr := r.removeContainer(context.WithoutCancel(ctx), uid, id); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		return sandbox.ContainerStatus{}, err
	}
	return st, nil
}

// startAttempt prepares the attempt's root and bundle and runs its shim.
func (r *Runtime) startAttempt(ctx context.Context, pod podRecord, namespaces map[string]string, id string, cfg sandbox.ContainerConfig) (sandbox.ContainerStatus, error) {
	dir := r.containerDir(pod.UID, id)
	bundle := filepath.Join(dir, "bundle")
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{rootfs, filepath.Join(dir, "upper"), filepath.Join(dir, "work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return sandbox.ContainerStatus{}, fmt.Errorf("oci: create container dir: %w", err)
		}
	}
	if err := mountOverlay(cfg.Layers, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), rootfs); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	user, err := resolveUser(rootfs, cfg.User)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	termLog, err := addTerminationLog(dir, &cfg)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	state := containerState{
		ID: id, PodUID: pod.UID, Name: cfg.Name, Attempt: cfg.Attempt,
		LogPath: cfg.LogPath, Cgroup: pod.Cgroup + "/" + id,
		PodOOMKillsAtStart: r.cgroups.oomKills(pod.Cgroup),
		Stdin:              cfg.Stdin, StdinOnce: cfg.StdinOnce, TTY: cfg.TTY,
		TerminationLog: termLog,
	}
	spec := buildSpec(specInput{cfg: cfg, pod: pod, user: user, namespaces: namespaces, cgroup: state.Cgroup, ownUTS: r.oci.name == "runsc"})
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	if cfg.LogPath == "" {
		return sandbox.ContainerStatus{}, errors.New("oci: ContainerConfig.LogPath is empty: give the CRI log file")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
		return sandbox.ContainerStatus{}, fmt.Errorf("oci: create log dir: %w", err)
	}
	if err := r.writeState(state); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	return r.runShim(ctx, state, bundle)
}

// runShim starts the attempt's shim detached, waits for its start
// report, records the pids and watches for the exit.
func (r *Runtime) runShim(ctx context.Context, state containerState, bundle string) (sandbox.ContainerStatus, error) {
	dir := r.containerDir(state.PodUID, state.ID)
	args := []string{"run", "--id", state.ID, "--bundle", bundle,
		"--runtime", r.oci.argv[0], "--log", state.LogPath,
		"--exit-file", filepath.Join(dir, "exit.json"), "--report-fd", "3",
		"--attach-socket", filepath.Join(dir, shim.AttachSocketName)}
	for flag, on := range map[string]bool{"--stdin": state.Stdin, "--stdin-once": state.StdinOnce, "--tty": state.TTY} {
		if on {
			args = append(args, flag)
		}
	}
	for _, a := range r.oci.argv[1:] {
		args = append(args, "--runtime-arg", a)
	}
	for _, m := range r.oci.unmount {
		args = append(args, "--runtime-unmount", m)
	}
	shimLog, err := os.OpenFile(filepath.Join(dir, "shim.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	defer shimLog.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return sandbox.ContainerStatus{}, err
	}
	defer reportR.Close()
	cmd := exec.Command(r.cfg.ShimPath, args...)
	cmd.Dir = dir
	cmd.Env = shimEnv()
	cmd.Stderr = shimLog
	cmd.ExtraFiles = []*os.File{reportW}
	// Its own session: killing the agent (or its process group) leaves
	// the shim and its container running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	reportW.Close()
	if err != nil {
		return sandbox.ContainerStatus{}, fmt.Errorf("oci: start shim %s: %w", r.cfg.ShimPath, err)
	}
	shimRef, _ := refOf(cmd.Process.Pid)
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	report, err := readReport(ctx, reportR)
	switch {
	case err != nil:
		if out, _ := os.ReadFile(shimLog.Name()); len(out) > 0 {
			err = fmt.Errorf("%w; shim said: %s", err, strings.TrimSpace(string(out)))
		}
	case report.Error != "":
		err = fmt.Errorf("oci: container %s failed to start: %s", state.Name, report.Error)
	}
	if err != nil {
		// The whole process group: the shim and a runtime it may be
		// running, so that no half-made container appears later.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return sandbox.ContainerStatus{}, err
	}
	state.Shim = shimRef
	state.StartedAt = report.StartedAt
	state.Process = processRef{Pid: report.Pid}
	if ref, err := refOf(report.Pid); err == nil {
		state.Process = ref
	}
	if err := r.writeState(state); err != nil {
		return sandbox.ContainerStatus{}, err
	}
	go func() {
		<-exited
		r.onShimExit(state.PodUID, state.ID)
	}()
	return sandbox.ContainerStatus{
		ID: state.ID, Name: state.Name, Attempt: state.Attempt,
		State: sandbox.StateRunning, Pid: report.Pid, StartedAt: report.StartedAt,
	}, nil
}

// readReport reads the shim's start report line.
func readReport(ctx context.Context, f *os.File) (shim.StartReport, error) {
	var rep shim.StartReport
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(startTimeout)
	}
	_ = f.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return rep, fmt.Errorf("oci: waiting for the container to start: %w", ctx.Err())
		}
		return rep, fmt.Errorf("oci: the shim ended without a start report (%v): see shim.log in the container dir", err)
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return rep, fmt.Errorf("oci: bad start report %q: %w", line, err)
	}
	return rep, nil
}

// addTerminationLog makes the attempt's termination message file, empty
// and writable by any user (as a kubelet makes it), and mounts it at
// cfg.TerminationMessagePath; it returns the file's host path.
func addTerminationLog(dir string, cfg *sandbox.ContainerConfig) (string, error) {
	if cfg.TerminationMessagePath == "" {
		return "", nil
	}
	path := filepath.Join(dir, "termination-log")
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		return "", fmt.Errorf("oci: create the termination message file: %w", err)
	}
	// WriteFile's mode is masked by the umask.
	if err := os.Chmod(path, 0o666); err != nil {
		return "", fmt.Errorf("oci: create the termination message file: %w", err)
	}
	cfg.Mounts = append(slices.Clone(cfg.Mounts), sandbox.Mount{Source: path, Destination: cfg.TerminationMessagePath})
	return path, nil
}

// terminationMessage is the end of the attempt's termination message
// file, at most sandbox.MaxTerminationMessage bytes.
func terminationMessage(path string) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > sandbox.MaxTerminationMessage {
		if _, err := f.Seek(-sandbox.MaxTerminationMessage, io.SeekEnd); err != nil {
			return ""
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, sandbox.MaxTerminationMessage))
	if err != nil {
		return ""
	}
	return string(data)
}
