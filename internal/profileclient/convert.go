package profileclient

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// FromUnstructured converts an object read through the dynamic client. It
// refuses objects of another kind, and fields of the wrong type (which the
// CRD's structural schema keeps out of the apiserver). Unknown fields are
// dropped, so that an older fargo can read profiles written by a newer one.
func FromUnstructured(u *unstructured.Unstructured) (*v1.FargateProfile, error) {
	if gvk := u.GroupVersionKind(); !gvk.Empty() && gvk != v1.SchemeGroupVersion.WithKind(v1.Kind) {
		return nil, fmt.Errorf("object %q is a %s, not a %s", u.GetName(), gvk, v1.SchemeGroupVersion.WithKind(v1.Kind))
	}
	p := &v1.FargateProfile{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p); err != nil {
		return nil, fmt.Errorf("FargateProfile %q: %w", u.GetName(), err)
	}
	return p, nil
}

// ToUnstructured converts p for the dynamic client, with apiVersion and kind
// set whatever p.TypeMeta says, since the apiserver needs them.
func ToUnstructured(p *v1.FargateProfile) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		return nil, fmt.Errorf("FargateProfile %q: %w", p.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(v1.SchemeGroupVersion.WithKind(v1.Kind))
	return u, nil
}

// FromObject converts what an informer hands to event handlers or keeps in
// its store: an *unstructured.Unstructured (dynamic informers), a
// *v1.FargateProfile (deep-copied, so the caller may change it), or a
// cache.DeletedFinalStateUnknown tombstone wrapping either.
func FromObject(obj any) (*v1.FargateProfile, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return FromUnstructured(o)
	case *v1.FargateProfile:
		return o.DeepCopy(), nil
	case cache.DeletedFinalStateUnknown:
		return FromObject(o.Obj)
	default:
		return nil, fmt.Errorf("not a FargateProfile: %T", obj)
	}
}
