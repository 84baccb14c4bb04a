// Package hostclient is a typed client for Hosts (api/v1) built on
// client-go's dynamic client, like profileclient: no generated clientset, and
// k8s.io/client-go/dynamic/fake serves it in unit tests. API errors are
// returned unchanged so that callers can test them with apierrors.
package hostclient

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// GVR is the resource Hosts are served under (cluster-scoped).
var GVR = v1.SchemeGroupVersion.WithResource(v1.HostPlural)

// Client reads and writes Hosts. It is safe for concurrent use.
type Client struct {
	resource dynamic.ResourceInterface
}

// New returns a Client that uses dyn.
func New(dyn dynamic.Interface) *Client { return &Client{resource: dyn.Resource(GVR)} }

// Get returns the host called name; apierrors.IsNotFound when there is none.
func (c *Client) Get(ctx context.Context, name string) (*v1.Host, error) {
	u, err := c.resource.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(u)
}

// List returns every host, sorted by name.
func (c *Client) List(ctx context.Context) ([]v1.Host, error) {
	ul, err := c.resource.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	hosts := make([]v1.Host, 0, len(ul.Items))
	for i := range ul.Items {
		h, err := FromUnstructured(&ul.Items[i])
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, *h)
	}
	sortByName(hosts)
	return hosts, nil
}

// Create creates h; the apiserver drops h.Status (status subresource).
func (c *Client) Create(ctx context.Context, h *v1.Host) (*v1.Host, error) {
	return c.write(ctx, h, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.resource.Create(ctx, u, metav1.CreateOptions{})
	})
}

// Update writes h's metadata and spec; h must carry its ResourceVersion.
func (c *Client) Update(ctx context.Context, h *v1.Host) (*v1.Host, error) {
	return c.write(ctx, h, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.resource.Update(ctx, u, metav1.UpdateOptions{})
	})
}

// UpdateStatus writes h.Status through the status subresource.
func (c *Client) UpdateStatus(ctx context.Context, h *v1.Host) (*v1.Host, error) {
	return c.write(ctx, h, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.resource.UpdateStatus(ctx, u, metav1.UpdateOptions{})
	})
}

// Delete deletes the host called name.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.resource.Delete(ctx, name, metav1.DeleteOptions{})
}

func (c *Client) write(ctx context.Context, h *v1.Host, call func(*unstructured.Unstructured) (*unstructured.Unstructured, error)) (*v1.Host, error) {
	u, err := ToUnstructured(h)
	if err != nil {
		return nil, err
	}
	out, err := call(u)
	if err != nil {
		return nil, err
	}
	return FromUnstructured(out)
}

// NewInformer returns an informer on all Hosts. Its store holds
// *unstructured.Unstructured: read it with ListFromStore or FromObject.
func NewInformer(dyn dynamic.Interface, resync time.Duration) cache.SharedIndexInformer {
	return dynamicinformer.NewFilteredDynamicInformer(dyn, GVR, metav1.NamespaceAll, resync, cache.Indexers{}, nil).Informer()
}

// ListFromStore returns the hosts in an informer's store, sorted by name.
// An object that does not convert is left out.
func ListFromStore(store cache.Store) []v1.Host {
	objs := store.List()
	hosts := make([]v1.Host, 0, len(objs))
	for _, obj := range objs {
		if h, err := FromObject(obj); err == nil {
			hosts = append(hosts, *h)
		}
	}
	sortByName(hosts)
	return hosts
}

// FromObject converts what an informer hands out: an unstructured object, a
// *v1.Host (copied) or a tombstone wrapping either.
func FromObject(obj any) (*v1.Host, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return FromUnstructured(o)
	case *v1.Host:
		return o.DeepCopy(), nil
	case cache.DeletedFinalStateUnknown:
		return FromObject(o.Obj)
	default:
		return nil, fmt.Errorf("not a Host: %T", obj)
	}
}

// FromUnstructured converts an object read through the dynamic client.
func FromUnstructured(u *unstructured.Unstructured) (*v1.Host, error) {
	want := v1.SchemeGroupVersion.WithKind(v1.HostKind)
	if gvk := u.GroupVersionKind(); !gvk.Empty() && gvk != want {
		return nil, fmt.Errorf("object %q is a %s, not a %s", u.GetName(), gvk, want)
	}
	h := &v1.Host{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, h); err != nil {
		return nil, fmt.Errorf("Host %q: %w", u.GetName(), err)
	}
	return h, nil
}

// ToUnstructured converts h for the dynamic client, apiVersion and kind set.
func ToUnstructured(h *v1.Host) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(h)
	if err != nil {
		return nil, fmt.Errorf("Host %q: %w", h.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(v1.SchemeGroupVersion.WithKind(v1.HostKind))
	return u, nil
}

func sortByName(hosts []v1.Host) {
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
}
