// Package profileclient is the typed client for FargateProfiles: the
// generic internal/crdclient for v1.FargateProfile, plus WaitFor for
// commands that wait on a profile's state. Admission refusals (invalid
// spec, too many profiles, another profile DELETING) come back from Create
// as API errors whose message is meant for users; Delete returns once the
// apiserver accepted it, and the profile controller's finalizer keeps the
// profile, DELETING, until its pods are gone (WaitFor with Gone).
package profileclient

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/crdclient"
)

// GVR is the resource FargateProfiles are served under: fargateprofiles in
// group fargo.dev, version v1, cluster-scoped.
var GVR = v1.SchemeGroupVersion.WithResource(v1.Plural)

// kind is FargateProfile, for internal/crdclient.
var kind = crdclient.Kind{GVR: GVR, Kind: v1.Kind}

// Client reads and writes FargateProfiles.
type Client = crdclient.Client[v1.FargateProfile, *v1.FargateProfile]

// New returns a Client that uses dyn (a dynamic/fake client in tests).
func New(dyn dynamic.Interface) *Client {
	return crdclient.New[v1.FargateProfile, *v1.FargateProfile](dyn, kind)
}

// NewForConfig returns a Client for the apiserver that cfg points at.
func NewForConfig(cfg *rest.Config) (*Client, error) {
	return crdclient.NewForConfig[v1.FargateProfile, *v1.FargateProfile](cfg, kind)
}

// NewInformer returns an informer on all FargateProfiles; see
// crdclient.NewInformer.
func NewInformer(dyn dynamic.Interface, resync time.Duration) cache.SharedIndexInformer {
	return crdclient.NewInformer(dyn, kind, resync)
}

// ListFromStore returns the profiles in an informer's store, sorted by name.
func ListFromStore(store cache.Store) []v1.FargateProfile {
	return crdclient.ListFromStore[v1.FargateProfile, *v1.FargateProfile](store, kind)
}

// FromObject converts what an informer hands out.
func FromObject(obj any) (*v1.FargateProfile, error) {
	return crdclient.FromObject[v1.FargateProfile, *v1.FargateProfile](obj, kind)
}

// FromUnstructured converts an object read through the dynamic client.
func FromUnstructured(u *unstructured.Unstructured) (*v1.FargateProfile, error) {
	return crdclient.FromUnstructured[v1.FargateProfile, *v1.FargateProfile](u, kind)
}

// ToUnstructured converts p for the dynamic client.
func ToUnstructured(p *v1.FargateProfile) (*unstructured.Unstructured, error) {
	return crdclient.ToUnstructured[v1.FargateProfile, *v1.FargateProfile](p, kind)
}
