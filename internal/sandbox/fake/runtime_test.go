package fake

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

func TestRecordsInjectsAndExits(t *testing.T) {
	ctx := context.Background()
	f := New()
	boom := errors.New("boom")
	f.NextError("StartContainer", boom)
	if _, err := f.StartContainer(ctx, "p", sandbox.ContainerConfig{Name: "app"}); !errors.Is(err, boom) {
		t.Fatalf("first StartContainer: %v, want the injected error", err)
	}
	if _, err := f.StartContainer(ctx, "p", sandbox.ContainerConfig{Name: "app", Attempt: 1}); err != nil {
		t.Fatalf("second StartContainer: %v, want the error used up", err)
	}
	if err := f.Exit("app", 3); err != nil {
		t.Fatal(err)
	}
	if st := <-f.Exits(); st.ID != "app-1" || st.ExitCode != 3 || st.State != sandbox.StateExited {
		t.Errorf("exit %+v, want app-1 exited 3", st)
	}
	if err := f.Exit("app", 0); !sandbox.IsNotFound(err) {
		t.Errorf("Exit with nothing running: %v, want not found", err)
	}
	if err := f.CreatePod(ctx, sandbox.PodConfig{UID: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := f.CreatePod(ctx, sandbox.PodConfig{UID: "u"}); !sandbox.IsAlreadyExists(err) {
		t.Errorf("second CreatePod: %v, want already exists", err)
	}
	want := []string{"StartContainer app", "StartContainer app", "CreatePod u", "CreatePod u"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}
