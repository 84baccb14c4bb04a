package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// PauseReady is what the pause process writes to its ready writer once
// its hostname is set.
const PauseReady = "ready\n"

// Pause is the pod's sandbox holder: started in new IPC and UTS namespaces
// (the caller's clone flags), it sets the pod's hostname in its UTS
// namespace, tells ready, then sleeps, reaping any child, until SIGTERM or
// SIGINT. Containers join its namespaces through /proc/PID/ns.
func Pause(hostname string, ready io.WriteCloser) error {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	if hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("pause: set hostname %q: %w (start pause in a new UTS namespace)", hostname, err)
		}
	}
	if ready != nil {
		if _, err := io.WriteString(ready, PauseReady); err != nil {
			return fmt.Errorf("pause: tell ready: %w", err)
		}
		ready.Close()
	}
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			return nil
		}
		reapOrphans()
	}
	return errors.New("pause: signal channel closed")
}
