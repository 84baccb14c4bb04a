// Package hostclient is the typed client for Hosts (api/v1): the generic
// internal/crdclient for v1.Host.
package hostclient

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/crdclient"
)

// GVR is the resource Hosts are served under (cluster-scoped).
var GVR = v1.SchemeGroupVersion.WithResource(v1.HostPlural)

// kind is Host, for internal/crdclient.
var kind = crdclient.Kind{GVR: GVR, Kind: v1.HostKind}

// Client reads and writes Hosts.
type Client = crdclient.Client[v1.Host, *v1.Host]

// New returns a Client that uses dyn (a dynamic/fake client in tests).
func New(dyn dynamic.Interface) *Client { return crdclient.New[v1.Host, *v1.Host](dyn, kind) }

// NewInformer returns an informer on all Hosts; see crdclient.NewInformer.
func NewInformer(dyn dynamic.Interface, resync time.Duration) cache.SharedIndexInformer {
	return crdclient.NewInformer(dyn, kind, resync)
}

// ListFromStore returns the hosts in an informer's store, sorted by name.
func ListFromStore(store cache.Store) []v1.Host {
	return crdclient.ListFromStore[v1.Host, *v1.Host](store, kind)
}

// FromObject converts what an informer hands out.
func FromObject(obj any) (*v1.Host, error) { return crdclient.FromObject[v1.Host, *v1.Host](obj, kind) }

// ToUnstructured converts h for the dynamic client.
func ToUnstructured(h *v1.Host) (*unstructured.Unstructured, error) {
	return crdclient.ToUnstructured[v1.Host, *v1.Host](h, kind)
}
