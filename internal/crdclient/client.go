// Package crdclient is a typed client for fargo's custom resources
// (api/v1: FargateProfiles, Hosts) built on client-go's dynamic client, so
// fargo needs no generated clientset and k8s.io/client-go/dynamic/fake
// serves it in unit tests. One generic Client serves every kind;
// internal/profileclient and internal/hostclient name it for theirs.
//
// Every method returns API errors unchanged, so callers can test them with
// k8s.io/apimachinery/pkg/api/errors (IsNotFound, IsConflict, ...).
package crdclient

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Object is what the client needs of a custom resource's Go type T: *T is
// a Kubernetes object.
type Object[T any] interface {
	*T
	metav1.Object
	runtime.Object
}

// Client reads and writes the cluster-scoped objects of one kind. It is
// safe for concurrent use.
type Client[T any, P Object[T]] struct {
	resource dynamic.ResourceInterface
	kind     Kind
}

// Kind names a custom resource: where it is served and what it is called.
type Kind struct {
	GVR  schema.GroupVersionResource
	Kind string
}

// GVK is the kind's group, version and kind.
func (k Kind) GVK() schema.GroupVersionKind { return k.GVR.GroupVersion().WithKind(k.Kind) }

// New returns a Client of kind that uses dyn, for instance a
// k8s.io/client-go/dynamic/fake client in tests.
func New[T any, P Object[T]](dyn dynamic.Interface, kind Kind) *Client[T, P] {
	return &Client[T, P]{resource: dyn.Resource(kind.GVR), kind: kind}
}

// NewForConfig returns a Client of kind for the apiserver cfg points at.
func NewForConfig[T any, P Object[T]](cfg *rest.Config, kind Kind) (*Client[T, P], error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return New[T, P](dyn, kind), nil
}

// Get returns the object called name; apierrors.IsNotFound when there is
// none.
func (c *Client[T, P]) Get(ctx context.Context, name string) (*T, error) {
	u, err := c.resource.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured[T, P](u, c.kind)
}

// List returns the objects opts selects, sorted by name, and the list's
// resourceVersion: pass it to Watch to see every change after the list.
func (c *Client[T, P]) List(ctx context.Context, opts metav1.ListOptions) ([]T, string, error) {
	ul, err := c.resource.List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	items := make([]T, 0, len(ul.Items))
	for i := range ul.Items {
		o, err := FromUnstructured[T, P](&ul.Items[i], c.kind)
		if err != nil {
			return nil, "", err
		}
		items = append(items, *o)
	}
	SortByName[T, P](items)
	return items, ul.GetResourceVersion(), nil
}

// Create creates o and returns it as the apiserver stored it; the
// apiserver drops its status (status subresource).
func (c *Client[T, P]) Create(ctx context.Context, o *T) (*T, error) {
	return c.write(o, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.resource.Create(ctx, u, metav1.CreateOptions{})
	})
}

// Update writes o's metadata and spec; o must carry the ResourceVersion it
// was read with, else apierrors.IsConflict.
func (c *Client[T, P]) Update(ctx context.Context, o *T) (*T, error) {
	return c.write(o, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.resource.Update(ctx, u, metav1.UpdateOptions{})
	})
}

// UpdateStatus writes o's status through the status subresource.
func (c *Client[T, P]) UpdateStatus(ctx context.Context, o *T) (*T, error) {
	return c.write(o, func(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return c.resource.UpdateStatus(ctx, u, metav1.UpdateOptions{})
	})
}

// Delete asks for the object called name to be deleted; finalizers may
// keep it a while.
func (c *Client[T, P]) Delete(ctx context.Context, name string) error {
	return c.resource.Delete(ctx, name, metav1.DeleteOptions{})
}

func (c *Client[T, P]) write(o *T, call func(*unstructured.Unstructured) (*unstructured.Unstructured, error)) (*T, error) {
	u, err := ToUnstructured[T, P](o, c.kind)
	if err != nil {
		return nil, err
	}
	out, err := call(u)
	if err != nil {
		return nil, err
	}
	return FromUnstructured[T, P](out, c.kind)
}

// Watch watches the objects opts selects. Added, Modified, Deleted and
// Bookmark events carry a *T; Error events carry what the apiserver sent,
// or a *metav1.Status when an event could not be converted.
func (c *Client[T, P]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := c.resource.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if ev.Type == watch.Error || !ok {
			return ev, true
		}
		o, err := FromUnstructured[T, P](u, c.kind)
		if err != nil {
			return watch.Event{Type: watch.Error, Object: &metav1.Status{
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError,
				Message: fmt.Sprintf("watch event for %s %q: %v", c.kind.Kind, u.GetName(), err),
			}}, true
		}
		return watch.Event{Type: ev.Type, Object: P(o)}, true
	}), nil
}
