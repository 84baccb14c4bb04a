package guestinit

import (
	"context"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// stop sends SIGTERM, waits for the grace, then kills the container's
// whole cgroup, and returns once it has exited.
func (s *server) stop(ctx context.Context, b vmproto.Stop) error {
	c, err := s.container(b.ID)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	if pid := c.snapshot().Pid; pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	grace := time.NewTimer(time.Duration(b.GraceMillis) * time.Millisecond)
	defer grace.Stop()
	select {
	case <-c.done:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	_ = os.WriteFile(c.cgroup+"/cgroup.kill", []byte("1"), 0)
	<-c.done
	return nil
}

// shutdown stops every running container with the grace, then syncs and
// unmounts the scratch disk; the caller powers off.
func (s *server) shutdown(ctx context.Context, b vmproto.Shutdown) {
	var wg sync.WaitGroup
	for _, st := range s.list() {
		if st.State == vmproto.StateRunning {
			wg.Go(func() { _ = s.stop(ctx, vmproto.Stop{ID: st.ID, GraceMillis: b.GraceMillis}) })
		}
	}
	wg.Wait()
	unmountUnder(containerDir)
	unmountUnder(scratchDir)
}
