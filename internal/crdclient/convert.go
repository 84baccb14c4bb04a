package crdclient

import (
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// FromUnstructured converts an object read through the dynamic client. It
// refuses objects of another kind and fields of the wrong type; unknown
// fields are dropped, so an older fargo reads what a newer one wrote.
func FromUnstructured[T any, P Object[T]](u *unstructured.Unstructured, kind Kind) (*T, error) {
	if gvk := u.GroupVersionKind(); !gvk.Empty() && gvk != kind.GVK() {
		return nil, fmt.Errorf("object %q is a %s, not a %s", u.GetName(), gvk, kind.GVK())
	}
	o := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, o); err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind.Kind, u.GetName(), err)
	}
	return o, nil
}

// ToUnstructured converts o for the dynamic client, with apiVersion and
// kind set whatever o's TypeMeta says, since the apiserver needs them.
func ToUnstructured[T any, P Object[T]](o *T, kind Kind) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind.Kind, P(o).GetName(), err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(kind.GVK())
	return u, nil
}

// FromObject converts what an informer hands to event handlers or keeps
// in its store: an *unstructured.Unstructured, a *T (copied, so the caller
// may change it), or a cache.DeletedFinalStateUnknown wrapping either.
func FromObject[T any, P Object[T]](obj any, kind Kind) (*T, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return FromUnstructured[T, P](o, kind)
	case P:
		return (*T)(o.DeepCopyObject().(P)), nil
	case cache.DeletedFinalStateUnknown:
		return FromObject[T, P](o.Obj, kind)
	default:
		return nil, fmt.Errorf("not a %s: %T", kind.Kind, obj)
	}
}

// NewInformer returns an informer on every object of kind, resyncing
// every resync (0: never). Its store holds *unstructured.Unstructured:
// read it with ListFromStore or FromObject. The caller runs it.
func NewInformer(dyn dynamic.Interface, kind Kind, resync time.Duration) cache.SharedIndexInformer {
	return dynamicinformer.NewFilteredDynamicInformer(dyn, kind.GVR, metav1.NamespaceAll, resync, cache.Indexers{}, nil).Informer()
}

// ListFromStore returns the objects in an informer's store, converted
// and sorted by name, like a lister; copies the caller may change. An
// object that does not convert is left out: one bad object must not hide
// the others.
func ListFromStore[T any, P Object[T]](store cache.Store, kind Kind) []T {
	objs := store.List()
	items := make([]T, 0, len(objs))
	for _, obj := range objs {
		if o, err := FromObject[T, P](obj, kind); err == nil {
			items = append(items, *o)
		}
	}
	SortByName[T, P](items)
	return items
}

// SortByName sorts items by name.
func SortByName[T any, P Object[T]](items []T) {
	sort.Slice(items, func(i, j int) bool { return P(&items[i]).GetName() < P(&items[j]).GetName() })
}
