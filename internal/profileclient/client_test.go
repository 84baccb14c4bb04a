package profileclient

import (
	"context"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic/fake"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// newFake returns a fake dynamic client holding profiles, and a Client on it.
func newFake(t *testing.T, profiles ...*v1.FargateProfile) (*fake.FakeDynamicClient, *Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, 0, len(profiles))
	for _, p := range profiles {
		u, err := ToUnstructured(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	dyn := fake.NewSimpleDynamicClient(scheme, objs...)
	return dyn, New(dyn)
}

func fp(name string, state v1.ProfileState, namespaces ...string) *v1.FargateProfile {
	p := &v1.FargateProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status:     v1.FargateProfileStatus{Status: state},
	}
	for _, ns := range namespaces {
		p.Spec.Selectors = append(p.Spec.Selectors, v1.Selector{Namespace: ns})
	}
	return p
}

func TestCreateGetList(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t, fp("b", v1.StateActive, "default"))
	want := fp("a", "", "game")
	want.Spec.Subnets = []string{"10.10.0.0/20"}
	want.Spec.Tags = map[string]string{"team": "x"}
	created, err := c.Create(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(created.Spec, want.Spec) {
		t.Errorf("created spec %+v, want %+v", created.Spec, want.Spec)
	}
	got, err := c.Get(ctx, "a")
	if err != nil || !reflect.DeepEqual(got.Spec, want.Spec) {
		t.Errorf("Get: %+v, %v", got, err)
	}
	if _, err := c.Create(ctx, want); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second Create: %v, want AlreadyExists", err)
	}
	items, resourceVersion, err := c.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if names := names(items); !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("List names %v, want [a b] in order", names)
	}
	if resourceVersion == "" {
		t.Errorf("List has no resourceVersion to watch from")
	}
}

func TestUpdateAndUpdateStatus(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t, fp("a", "", "game"))
	p, err := c.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	p.Finalizers = []string{"fargo.dev/pods"}
	if p, err = c.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status = v1.FargateProfileStatus{Status: v1.StateActive}
	if _, err = c.UpdateStatus(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Finalizers, []string{"fargo.dev/pods"}) || got.Status.Status != v1.StateActive {
		t.Errorf("after updates: finalizers %v, status %q", got.Finalizers, got.Status.Status)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t, fp("a", v1.StateActive, "game"))
	if err := c.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "a"); !apierrors.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
	if err := c.Delete(ctx, "a"); !apierrors.IsNotFound(err) {
		t.Errorf("second Delete: %v, want NotFound", err)
	}
}

func TestWatchCarriesTypedProfiles(t *testing.T) {
	ctx := context.Background()
	_, c := newFake(t)
	w, err := c.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := c.Create(ctx, fp("a", "", "game")); err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	p, ok := ev.Object.(*v1.FargateProfile)
	if ev.Type != watch.Added || !ok || p.Name != "a" || p.Spec.Selectors[0].Namespace != "game" {
		t.Errorf("event %s %#v, want Added *v1.FargateProfile a", ev.Type, ev.Object)
	}
}

func names(profiles []v1.FargateProfile) []string {
	var out []string
	for _, p := range profiles {
		out = append(out, p.Name)
	}
	return out
}
