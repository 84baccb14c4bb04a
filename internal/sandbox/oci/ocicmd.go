package oci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/fargo-dev/fargo/internal/shim"
)

// ociRuntime is how to invoke the OCI runtime binary: argv before its
// subcommand, and the mounts it must not see.
type ociRuntime struct {
	name string
	argv []string
	// unmount are host mounts hidden from the runtime: each of its
	// processes starts in a private mount namespace without them
	// (shim.StartWithout).
	unmount []string
	// consoleExec: a terminal exec runs with --console-socket, the process's
	// terminal served by the caller (crun passes no resize on from a
	// terminal of its own; runc refuses a console socket in the foreground).
	consoleExec bool
}

// newOCIRuntime works around each runtime's needs on this host:
//   - crun mistakes the hybrid layout's cgroup2 mount at
//     /sys/fs/cgroup/unified for a v2 host, so it runs in a private
//     mount namespace without that mount;
//   - runsc (gVisor) runs with the ptrace platform, which needs no KVM,
//     and --network=host: its sandbox still joins the pod's network
//     namespace, but uses the kernel's network stack in it instead of
//     gVisor's netstack, whose set-up refuses to run on kernels where
//     /proc/sys/net/core/rmem_default exists outside the root network
//     namespace (its check for "am I in the root namespace").
func newOCIRuntime(cfg Config, cg *cgroupLayout) (ociRuntime, error) {
	base := []string{cfg.RuntimePath, "--root", cfg.RuntimeRoot}
	switch cfg.Runtime {
	case "runc":
		return ociRuntime{name: "runc", argv: base}, nil
	case "crun":
		o := ociRuntime{name: "crun", argv: base, consoleExec: true}
		if hybrid := hybridUnifiedMount(cg); hybrid != "" {
			o.unmount = []string{hybrid}
		}
		return o, nil
	case "runsc":
		return ociRuntime{name: "runsc", argv: append(base, "--platform=ptrace", "--network=host")}, nil
	}
	return ociRuntime{}, fmt.Errorf("oci: unknown runtime %q: use runc, crun or runsc", cfg.Runtime)
}

// hybridUnifiedMount returns the cgroup2 mount beside v1 hierarchies, if any.
func hybridUnifiedMount(cg *cgroupLayout) string {
	if cg.unified {
		return ""
	}
	for _, m := range cg.mounts {
		if _, err := os.Stat(m + "/cgroup.controllers"); err == nil {
			return m
		}
	}
	return ""
}

// command returns the runtime invoked with args.
func (o ociRuntime) command(ctx context.Context, args ...string) *exec.Cmd {
	argv := append(append([]string{}, o.argv...), args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// execCommand returns the runtime's exec of argv in container id.
//
// runc 1.1.5 sets the container's rlimits on an exec'd process racing
// with its own Go runtime, which raises the soft NOFILE limit to the hard
// one: "ulimit -n" in an exec shows 1024 or the hard limit. The
// container's main process always gets 1024. Newer runc fixes it.
func (o ociRuntime) execCommand(pidFile, id string, argv []string) *exec.Cmd {
	all := append(append([]string{}, o.argv...), "exec", "--pid-file", pidFile, id)
	all = append(all, argv...)
	return exec.Command(all[0], all[1:]...)
}

// start starts cmd, a command of the runtime's.
func (o ociRuntime) start(cmd *exec.Cmd) error {
	return shim.StartWithout(cmd, o.unmount)
}

// run runs the runtime with args and returns its error with its output.
func (o ociRuntime) run(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := o.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := shim.RunWithout(cmd, o.unmount); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s %s: %s", o.name, args[0], msg)
	}
	return nil
}

// isNotExist says whether a runtime's error means the container is not
// known to it (already deleted).
func isNotExist(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "does not exist") || strings.Contains(s, "not found") || strings.Contains(s, "No such file")
}

// isNotRunning says whether a kill failed because the process had ended.
func isNotRunning(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "not running") || strings.Contains(s, "process already finished") ||
		strings.Contains(s, "stopped") || isNotExist(err)
}
