package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// Restart backoff of a kube-proxy that exited, and how long it gets to
// stop when the host agent does.
const (
	minRestartDelay = time.Second
	maxRestartDelay = 30 * time.Second
	stopGrace       = 5 * time.Second
)

// Command is the fargo verb that runs Serve (hidden: the host agent runs it).
const Command = "kube-proxy"

// Process is how a host agent runs its kube-proxy.
type Process struct {
	// Executable is the fargo binary; empty means this process's own.
	Executable string
	// LogFile receives kube-proxy's output.
	LogFile string
	Options
}

// Args are the command line of the kube-proxy process for o.
func (o Options) Args() []string {
	args := []string{Command, "--kubeconfig", o.Kubeconfig, "--hostname", o.HostName, "--bridge", o.Bridge}
	if o.NodeIP.IsValid() {
		args = append(args, "--node-ip", o.NodeIP.String())
	}
	if o.MetricsAddress != "" {
		args = append(args, "--metrics-bind-address", o.MetricsAddress)
	}
	return args
}

// Run keeps kube-proxy running until ctx ends, restarting it with backoff
// when it exits; then it stops it and returns.
func (p Process) Run(ctx context.Context) error {
	exe := p.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("kube-proxy: finding the fargo binary: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p.LogFile), 0o755); err != nil {
		return fmt.Errorf("kube-proxy: log directory: %w", err)
	}
	log := klog.FromContext(ctx)
	delay := minRestartDelay
	for {
		began := time.Now()
		err := p.runOnce(ctx, exe)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > maxRestartDelay {
			delay = minRestartDelay
		}
		log.Error(err, "kube-proxy exited, restarting", "after", delay, "log", p.LogFile)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRestartDelay)
	}
}

// runOnce runs one kube-proxy process until it exits or ctx ends. The
// goroutine keeps its OS thread so that Pdeathsig, which fires when the
// thread that started the child ends, fires only when this agent dies.
func (p Process) runOnce(ctx context.Context, exe string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	out, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kube-proxy: opening %s: %w", p.LogFile, err)
	}
	defer out.Close()
	cmd := exec.Command(exe, p.Args()...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kube-proxy: starting %s: %w", exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			err = errors.New("exited without an error")
		}
		return err
	case <-ctx.Done():
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopGrace):
		_ = cmd.Process.Kill()
		<-exited
	}
	return ctx.Err()
}
