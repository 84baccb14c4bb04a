package oci

import (
	"context"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// TestMissingIsNotFound: calls about a container or pod that does not
// exist fail in the ErrNotFound category, so callers need not read text.
func TestMissingIsNotFound(t *testing.T) {
	r := testRuntime(t, "runc")
	ctx := context.Background()
	uid := podConfig("").UID
	if _, err := r.Exec(ctx, uid, "nope", []string{"true"}, time.Second); !sandbox.IsNotFound(err) {
		t.Errorf("Exec in a missing container: %v, want a not-found error", err)
	}
	if _, err := r.StartContainer(ctx, uid, sandbox.ContainerConfig{Name: "c", Args: []string{"true"}}); !sandbox.IsNotFound(err) {
		t.Errorf("StartContainer in a missing pod: %v, want a not-found error", err)
	}
}
