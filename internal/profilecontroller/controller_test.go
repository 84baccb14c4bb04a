package profilecontroller

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
)

// fakeProfiles is an in-memory Profiles.
type fakeProfiles map[string]*v1.FargateProfile

func (f fakeProfiles) Get(_ context.Context, name string) (*v1.FargateProfile, error) {
	p, ok := f[name]
	if !ok {
		return nil, apierrors.NewNotFound(v1.Resource(v1.Plural), name)
	}
	return p.DeepCopy(), nil
}

func (f fakeProfiles) Update(_ context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error) {
	// Like the apiserver: a deleted object without finalizers is gone.
	if p.DeletionTimestamp != nil && len(p.Finalizers) == 0 {
		delete(f, p.Name)
		return p, nil
	}
	stored := f[p.Name].DeepCopy()
	stored.ObjectMeta = p.ObjectMeta
	f[p.Name] = stored
	return stored.DeepCopy(), nil
}

func (f fakeProfiles) UpdateStatus(_ context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error) {
	stored := f[p.Name].DeepCopy()
	stored.Status = p.Status
	f[p.Name] = stored
	return stored.DeepCopy(), nil
}

func labelledPod(name, profileName string) runtime.Object {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps",
		Labels: map[string]string{profile.LabelFargateProfile: profileName}}}
}

func TestReconcile(t *testing.T) {
	now := metav1.NewTime(time.Now())
	tests := []struct {
		name       string
		profile    v1.FargateProfile
		pods       []runtime.Object
		failDelete bool
		steps      int
		wantGone   bool
		wantState  v1.ProfileState
		wantPods   []string
	}{
		{name: "new profile becomes ACTIVE with a finalizer", steps: 3, wantState: v1.StateActive,
			profile: v1.FargateProfile{ObjectMeta: metav1.ObjectMeta{Name: "web"}}},
		{name: "one step of a new profile is CREATING", steps: 2, wantState: v1.StateCreating,
			profile: v1.FargateProfile{ObjectMeta: metav1.ObjectMeta{Name: "web"}}},
		{name: "deleted profile goes DELETING first", steps: 1, wantState: v1.StateDeleting,
			profile: v1.FargateProfile{ObjectMeta: metav1.ObjectMeta{Name: "web", DeletionTimestamp: &now, Finalizers: []string{Finalizer}},
				Status: v1.FargateProfileStatus{Status: v1.StateActive}},
			pods: []runtime.Object{labelledPod("a", "web")}, wantPods: []string{"a"}},
		{name: "deleted profile deletes only its pods, then goes", steps: 3, wantGone: true,
			profile: v1.FargateProfile{ObjectMeta: metav1.ObjectMeta{Name: "web", DeletionTimestamp: &now, Finalizers: []string{Finalizer}},
				Status: v1.FargateProfileStatus{Status: v1.StateActive}},
			pods: []runtime.Object{labelledPod("a", "web"), labelledPod("b", "web"), labelledPod("other", "batch")}, wantPods: []string{"other"}},
		{name: "pods that cannot be deleted make DELETE_FAILED", steps: 2, failDelete: true, wantState: v1.StateDeleteFailed,
			profile: v1.FargateProfile{ObjectMeta: metav1.ObjectMeta{Name: "web", DeletionTimestamp: &now, Finalizers: []string{Finalizer}},
				Status: v1.FargateProfileStatus{Status: v1.StateActive}},
			pods: []runtime.Object{labelledPod("a", "web")}, wantPods: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			profiles := fakeProfiles{tt.profile.Name: tt.profile.DeepCopy()}
			pods := fake.NewClientset(tt.pods...)
			if tt.failDelete {
				pods.PrependReactor("delete", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("etcd is on fire")
				})
			}
			c := New(profiles, pods)
			for range tt.steps {
				c.Reconcile(context.Background(), tt.profile.Name)
			}
			got, exists := profiles[tt.profile.Name]
			if tt.wantGone != !exists {
				t.Fatalf("profile exists = %v, want gone = %v", exists, tt.wantGone)
			}
			if exists {
				if got.Status.Status != tt.wantState {
					t.Errorf("status %q, want %q (message %q)", got.Status.Status, tt.wantState, got.Status.Message)
				}
				if !slices.Contains(got.Finalizers, Finalizer) {
					t.Errorf("finalizers %v lack %s", got.Finalizers, Finalizer)
				}
			}
			list, _ := pods.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{})
			var names []string
			for _, p := range list.Items {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.wantPods) {
				t.Errorf("pods left %v, want %v", names, tt.wantPods)
			}
		})
	}
}

func TestReconcileMissingProfileIsDone(t *testing.T) {
	c := New(fakeProfiles{}, fake.NewClientset())
	if requeue, err := c.Reconcile(context.Background(), "gone"); err != nil || requeue != 0 {
		t.Fatalf("Reconcile of a missing profile = %v, %v; want 0, nil", requeue, err)
	}
}
