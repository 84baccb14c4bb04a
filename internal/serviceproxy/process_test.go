package serviceproxy

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/testwait"
)

func TestArgs(t *testing.T) {
	o := Options{Kubeconfig: "/k", HostName: "h", Bridge: "fargo0", NodeIP: netip.MustParseAddr("192.0.2.1")}
	want := []string{"kube-proxy", "--kubeconfig", "/k", "--hostname", "h", "--bridge", "fargo0", "--node-ip", "192.0.2.1"}
	if got := o.Args(); !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
}

// fakeKubeProxy is a script standing for `fargo kube-proxy`: it records
// each start and its pid, then runs body.
func fakeKubeProxy(t *testing.T, body string) (exe, starts string) {
	dir := t.TempDir()
	exe, starts = filepath.Join(dir, "fargo"), filepath.Join(dir, "starts")
	script := fmt.Sprintf("#!/bin/sh\necho $$ >> %s\n%s\n", starts, body)
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe, starts
}

func pids(t *testing.T, starts string) []string {
	b, _ := os.ReadFile(starts)
	return strings.Fields(string(b))
}

// A kube-proxy that exits is started again.
func TestRunRestartsAnExitedProxy(t *testing.T) {
	exe, starts := fakeKubeProxy(t, "exit 1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Process{Executable: exe, LogFile: filepath.Join(t.TempDir(), "kube-proxy.log")}.Run(ctx)
	}()
	testwait.Eventually(t, 10*time.Second, "a second start", func(context.Context) error {
		if n := len(pids(t, starts)); n < 2 {
			return fmt.Errorf("%d starts", n)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// When the agent stops, so does its kube-proxy: no process is left.
func TestRunStopsTheProxy(t *testing.T) {
	exe, starts := fakeKubeProxy(t, "exec sleep 600")
	log := filepath.Join(t.TempDir(), "kube-proxy.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Process{Executable: exe, LogFile: log}.Run(ctx) }()
	testwait.Eventually(t, 10*time.Second, "a start", func(context.Context) error {
		if n := len(pids(t, starts)); n != 1 {
			return fmt.Errorf("%d starts", n)
		}
		return nil
	})
	var pid int
	fmt.Sscan(pids(t, starts)[0], &pid)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("kube-proxy (pid %d) still runs after Run returned", pid)
	}
	if _, err := os.Stat(log); err != nil {
		t.Errorf("no log file: %v", err)
	}
}
