package harness

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fargo-dev/fargo/internal/host"
)

// sweep removes what a killed host agent under s.DataDir left: the
// sandboxes of its pods (processes, cgroups, mounts), their logs, its pod
// network in this namespace (bridge, veths, nftables tables), and every
// mount under the data dir, so the test's directory can go. Tests kill
// agents on purpose (a crash, the end of a test); it is what `fargo down`
// does, with no grace.
func (s *Server) sweep(t testing.TB) {
	t.Helper()
	agentDir := s.DataDir
	if s.Args[0] == "up" {
		agentDir = filepath.Join(s.DataDir, "agent")
	}
	opts := host.CleanupOptions{
		ShimPath: filepath.Join(filepath.Dir(Binary(t)), "fargo-shim"),
		// A wrapped host's network is in a namespace its test deletes.
		KeepNetwork: len(s.Wrapper) > 0,
	}
	if err := host.Cleanup(context.Background(), agentDir, opts); err != nil {
		t.Errorf("sweeping %s: %v", agentDir, err)
	}
}
