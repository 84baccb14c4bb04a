package tiers

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/sandbox/fake"
)

func TestPodsGoToTheirTierAndStayThere(t *testing.T) {
	ctx := context.Background()
	oci, vm := fake.New(), fake.New()
	r, err := New(Tier{sandbox.TierOCI, oci}, Tier{sandbox.TierMicroVM, vm})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CreatePod(ctx, sandbox.PodConfig{UID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := r.CreatePod(ctx, sandbox.PodConfig{UID: "b", Tier: sandbox.TierMicroVM}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartContainer(ctx, "b", sandbox.ContainerConfig{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	if got := oci.Called("CreatePod"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("default tier made pods %v, want [a]", got)
	}
	if got := vm.Called("StartContainer"); len(got) != 1 {
		t.Errorf("microvm tier started %v, want one container", got)
	}
	if len(oci.Called("StartContainer")) != 0 {
		t.Error("a microvm pod's container started in the oci tier")
	}
	all, _ := r.Pods(ctx)
	if !slices.Equal(all, []string{"a", "b"}) {
		t.Errorf("Pods = %v, want [a b]", all)
	}
}

func TestAnUnofferedTierIsRefused(t *testing.T) {
	r, _ := New(Tier{sandbox.TierOCI, fake.New()})
	err := r.CreatePod(context.Background(), sandbox.PodConfig{UID: "a", Tier: sandbox.TierMicroVM})
	if !errors.Is(err, sandbox.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

func TestAdoptedPodIsFoundInItsTier(t *testing.T) {
	ctx := context.Background()
	oci, vm := fake.New(), fake.New()
	// An earlier agent made the pod: the router has no note of it.
	if err := vm.CreatePod(ctx, sandbox.PodConfig{UID: "old"}); err != nil {
		t.Fatal(err)
	}
	r, _ := New(Tier{sandbox.TierOCI, oci}, Tier{sandbox.TierMicroVM, vm})
	if _, err := r.StartContainer(ctx, "old", sandbox.ContainerConfig{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	if len(vm.Called("StartContainer")) != 1 || len(oci.Called("StartContainer")) != 0 {
		t.Errorf("start went to oci %v, microvm %v; want microvm", oci.Called("StartContainer"), vm.Called("StartContainer"))
	}
	if _, err := r.Containers(ctx, "nobody"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("a pod no tier has: %v, want ErrNotFound", err)
	}
}

func TestExitsOfEveryTierArrive(t *testing.T) {
	ctx := context.Background()
	oci, vm := fake.New(), fake.New()
	r, _ := New(Tier{sandbox.TierOCI, oci}, Tier{sandbox.TierMicroVM, vm})
	_ = r.CreatePod(ctx, sandbox.PodConfig{UID: "b", Tier: sandbox.TierMicroVM})
	if _, err := r.StartContainer(ctx, "b", sandbox.ContainerConfig{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	if err := vm.Exit("c", 3); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-r.Exits():
		if st.Name != "c" || st.ExitCode != 3 {
			t.Errorf("exit %+v, want c with code 3", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the microvm tier's exit did not arrive")
	}
}
