package profileclient

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/testwait"
)

func TestConvertRoundTrip(t *testing.T) {
	p := fp("a", v1.StateActive, "game", "web")
	p.Spec.Selectors[0].Labels = map[string]string{"app": "2048"}
	p.Spec.PodExecutionRoleARN = "arn:aws:iam::000000000000:role/x"
	p.Spec.ClusterName = "c"
	u, err := ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetAPIVersion() != "fargo.dev/v1" || u.GetKind() != "FargateProfile" {
		t.Errorf("apiVersion %q kind %q", u.GetAPIVersion(), u.GetKind())
	}
	back, err := FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	p.TypeMeta = metav1.TypeMeta{APIVersion: "fargo.dev/v1", Kind: "FargateProfile"}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, p)
	}
}

func TestFromUnstructuredErrors(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want string
	}{
		{
			name: "other kind",
			obj:  map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}},
			want: `object "p" is a /v1, Kind=Pod`,
		},
		{
			name: "selectors not a list",
			obj: map[string]any{"apiVersion": "fargo.dev/v1", "kind": "FargateProfile",
				"metadata": map[string]any{"name": "a"}, "spec": map[string]any{"selectors": "game"}},
			want: `FargateProfile "a"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromUnstructured(&unstructured.Unstructured{Object: tt.obj})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFromObject(t *testing.T) {
	typed := fp("a", v1.StateActive, "game")
	u, err := ToUnstructured(typed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		obj     any
		wantErr bool
	}{
		{"unstructured", u, false},
		{"typed", typed, false},
		{"tombstone", cache.DeletedFinalStateUnknown{Key: "a", Obj: u}, false},
		{"other", "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := FromObject(tt.obj)
			if tt.wantErr {
				if err == nil {
					t.Errorf("no error for %T", tt.obj)
				}
				return
			}
			if err != nil || p.Name != "a" || p.Spec.Selectors[0].Namespace != "game" {
				t.Errorf("got %+v, %v", p, err)
			}
		})
	}
	t.Run("typed is copied", func(t *testing.T) {
		p, _ := FromObject(typed)
		p.Spec.Selectors[0].Namespace = "changed"
		if typed.Spec.Selectors[0].Namespace != "game" {
			t.Errorf("FromObject shares memory with the store's object")
		}
	})
}

func TestInformerAndListFromStore(t *testing.T) {
	dyn, c := newFake(t, fp("b", v1.StateActive, "web"), fp("a", v1.StateCreating, "game"))
	informer := NewInformer(dyn, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if got := names(ListFromStore(informer.GetStore())); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ListFromStore names %v, want [a b]", got)
	}
	if _, err := c.Create(ctx, fp("c", "", "jobs")); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 5*time.Second, "the informer has c", func(context.Context) error {
		if n := len(informer.GetStore().List()); n < 3 {
			return fmt.Errorf("%d profiles", n)
		}
		return nil
	})
	if got := names(ListFromStore(informer.GetStore())); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("after create: ListFromStore names %v, want [a b c]", got)
	}
}

func TestListFromStoreSkipsBadObjects(t *testing.T) {
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	good, _ := ToUnstructured(fp("a", v1.StateActive, "game"))
	bad := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "fargo.dev/v1", "kind": "FargateProfile",
		"metadata": map[string]any{"name": "bad"}, "spec": map[string]any{"selectors": 3}}}
	for _, obj := range []any{good, bad} {
		if err := store.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(ListFromStore(store)); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("ListFromStore names %v, want [a]", got)
	}
}
