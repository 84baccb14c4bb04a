// Package profileclient is a typed client for FargateProfiles built on
// client-go's dynamic client, so that fargo needs no generated clientset:
// Client for reads and writes, NewInformer and ListFromStore for controllers
// and the admission webhook, WaitFor for commands that wait on a state.
//
// Every method returns API errors unchanged, so callers can test them with
// k8s.io/apimachinery/pkg/api/errors (IsNotFound, IsAlreadyExists,
// IsConflict, IsInvalid, ...).
package profileclient

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// GVR is the resource FargateProfiles are served under: fargateprofiles in
// group fargo.dev, version v1, cluster-scoped.
var GVR = v1.SchemeGroupVersion.WithResource(v1.Plural)

// Client reads and writes FargateProfiles. It is safe for concurrent use.
type Client struct {
	resource dynamic.ResourceInterface
}

// New returns a Client for the apiserver that cfg points at.
func New(cfg *rest.Config) (*Client, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return NewForDynamic(dyn), nil
}

// NewForDynamic returns a Client that uses dyn, for instance a
// k8s.io/client-go/dynamic/fake client in tests.
func NewForDynamic(dyn dynamic.Interface) *Client {
	// Profiles are cluster-scoped: no Namespace() call.
	return &Client{resource: dyn.Resource(GVR)}
}

// Create creates p and returns the profile as the apiserver stored it.
// p.Status is ignored: the status subresource makes the apiserver drop it,
// and the profile controller sets CREATING, then ACTIVE. Admission refusals
// (invalid spec, too many profiles, another profile DELETING) come back as
// API errors whose message is meant for users.
func (c *Client) Create(ctx context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error) {
	u, err := ToUnstructured(p)
	if err != nil {
		return nil, err
	}
	created, err := c.resource.Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(created)
}

// Get returns the profile called name, or an error for which
// apierrors.IsNotFound is true when there is none.
func (c *Client) Get(ctx context.Context, name string) (*v1.FargateProfile, error) {
	u, err := c.resource.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(u)
}

// List returns the profiles that opts selects (label and field selectors
// are applied by the apiserver), sorted by name. The list's ResourceVersion
// is the one to pass to Watch to see every change after the list.
func (c *Client) List(ctx context.Context, opts metav1.ListOptions) (*v1.FargateProfileList, error) {
	ul, err := c.resource.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	list := &v1.FargateProfileList{
		TypeMeta: metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: v1.ListKind},
		ListMeta: metav1.ListMeta{ResourceVersion: ul.GetResourceVersion(), Continue: ul.GetContinue()},
		Items:    make([]v1.FargateProfile, 0, len(ul.Items)),
	}
	for i := range ul.Items {
		p, err := FromUnstructured(&ul.Items[i])
		if err != nil {
			return nil, err
		}
		list.Items = append(list.Items, *p)
	}
	sortByName(list.Items)
	return list, nil
}

// Update writes p's metadata (finalizers, labels, annotations) and spec.
// p must carry the ResourceVersion it was read with; a concurrent change
// gives an error for which apierrors.IsConflict is true. The apiserver
// ignores status here (use UpdateStatus) and refuses any spec change, since
// profiles are immutable.
func (c *Client) Update(ctx context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error) {
	u, err := ToUnstructured(p)
	if err != nil {
		return nil, err
	}
	updated, err := c.resource.Update(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(updated)
}

// UpdateStatus writes p.Status through the status subresource; the
// apiserver ignores every other change in p. Like Update, it needs p's
// ResourceVersion and reports conflicts.
func (c *Client) UpdateStatus(ctx context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error) {
	u, err := ToUnstructured(p)
	if err != nil {
		return nil, err
	}
	updated, err := c.resource.UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(updated)
}

// Delete asks for the profile called name to be deleted. It returns once
// the apiserver has accepted the request, not once the profile is gone: the
// profile controller's finalizer keeps the object, DELETING, until the pods
// the profile placed are deleted. Use WaitFor with Gone to wait for the end.
// A missing profile gives an error for which apierrors.IsNotFound is true.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.resource.Delete(ctx, name, metav1.DeleteOptions{})
}

// Watch watches the profiles opts selects. Added, Modified, Deleted and
// Bookmark events carry a *v1.FargateProfile; Error events carry the object
// the apiserver sent (usually a Status, see apierrors.FromObject), or a
// *metav1.Status when an event could not be converted. Stop the watch when
// done with it.
func (c *Client) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := c.resource.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, typedEvent), nil
}

func typedEvent(ev watch.Event) (watch.Event, bool) {
	u, ok := ev.Object.(*unstructured.Unstructured)
	if ev.Type == watch.Error || !ok {
		return ev, true
	}
	p, err := FromUnstructured(u)
	if err != nil {
		status := &metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  metav1.StatusReasonInternalError,
			Message: fmt.Sprintf("watch event for FargateProfile %q: %v", u.GetName(), err),
		}
		return watch.Event{Type: watch.Error, Object: status}, true
	}
	return watch.Event{Type: ev.Type, Object: p}, true
}

func sortByName(profiles []v1.FargateProfile) {
	sort.Slice(profiles, func(i, j int) bool { return profiles[i].Name < profiles[j].Name })
}
