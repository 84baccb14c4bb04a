// Package e2e drives real fargo processes the way a user does: start a
// cluster, use it with kubectl and client-go, stop it, start it again.
package e2e

import (
	"os"
	"sync"
	"testing"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

var (
	sharedOnce   sync.Once
	sharedServer *harness.Server
	sharedDir    string
)

// shared returns one control plane that tests which do not stop or restart
// it share, so the suite pays for one cluster start instead of many.
func shared(t *testing.T) *harness.Server {
	t.Helper()
	harness.RequireRoot(t)
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fargo-e2e-shared")
		if err != nil {
			t.Fatal(err)
		}
		sharedDir = dir
		sharedServer = harness.NewServer(t, "server", dir)
		sharedServer.StartShared(t)
	})
	if sharedServer == nil || !sharedServer.Running() {
		t.Fatal("the shared fargo server failed to start earlier in this run")
	}
	return sharedServer
}

func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveSeedTarball()
	if sharedServer != nil {
		sharedServer.Shutdown()
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}
