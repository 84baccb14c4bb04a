package microvm

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/fargo-dev/fargo/internal/vmrelay"
)

// relaySock is where a VM's relay listens, in the VM's directory.
const relaySock = "relay.sock"

// startRelay starts the VM's relay (fargo-shim vm-relay): it holds the
// VMM's channel from now on, across agent restarts, and ends with the VM.
func (r *Runtime) startRelay(vm VM) error {
	log, err := os.OpenFile(filepath.Join(vm.Dir, "relay.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(r.cfg.Shim, "vm-relay", r.cfg.VMM.Channel(vm), filepath.Join(vm.Dir, relaySock))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // not the agent's to stop
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("microvm: start the VM's relay %s: %w", r.cfg.Shim, err)
	}
	go cmd.Wait() // reaped by this agent while it runs, by init after
	return os.WriteFile(filepath.Join(vm.Dir, "relay.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
}

// relayRunning says whether the VM's relay process is alive.
func relayRunning(vm VM) bool {
	b, err := os.ReadFile(filepath.Join(vm.Dir, "relay.pid"))
	if err != nil {
		return false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return vmRunning(pid, vm.Dir) // its command line names the VM's directory too
}

// dialRelay connects to the VM's relay, starting one if the VM has none
// (its relay died; a VM from before relays).
func (p *pod) dialRelay(ctx context.Context) (net.Conn, error) {
	if !relayRunning(p.rec.VM) {
		if err := p.r.startRelay(p.rec.VM); err != nil {
			return nil, err
		}
	}
	return vmrelay.Dial(ctx, filepath.Join(p.rec.VM.Dir, relaySock))
}
