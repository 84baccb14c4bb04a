// Package profilecontroller moves FargateProfiles through their lifecycle:
// a new profile goes CREATING then ACTIVE; a deleted one goes DELETING, the
// pods it placed are deleted (their controllers recreate them and admission
// places the new ones elsewhere, or nowhere), and only then is it removed.
package profilecontroller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fargo-dev/fargo/internal/reconcile"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
)

// Finalizer holds a deleted profile until the pods it placed are gone.
const Finalizer = "fargo.dev/fargate-profile-pods"

// Profiles is the controller's access to FargateProfiles.
type Profiles interface {
	// Get returns the stored profile, or an error for which
	// apierrors.IsNotFound is true when there is none.
	Get(ctx context.Context, name string) (*v1.FargateProfile, error)
	// Update writes metadata (finalizers); the spec is immutable.
	Update(ctx context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error)
	// UpdateStatus writes only the status subresource.
	UpdateStatus(ctx context.Context, p *v1.FargateProfile) (*v1.FargateProfile, error)
}

// Controller reconciles FargateProfiles named on its queue.
type Controller struct {
	profiles Profiles
	pods     kubernetes.Interface
	loop     *reconcile.Loop[string]
}

// New returns a controller; Register connects it to an informer.
func New(profiles Profiles, pods kubernetes.Interface) *Controller {
	c := &Controller{profiles: profiles, pods: pods}
	c.loop = reconcile.New("fargateprofiles", c.Reconcile)
	return c
}

// Register queues every profile the informer sees added, changed or deleted.
func (c *Controller) Register(informer cache.SharedIndexInformer) error {
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.loop.Add(key)
		}
	}
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	return err
}

// Run works the queue until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.loop.Run(ctx, 1) }

// Reconcile takes the named profile one step towards where it should be. It
// returns how soon to look again when waiting on something outside the
// profile (its pods going away), or an error to be retried with backoff.
func (c *Controller) Reconcile(ctx context.Context, name string) (time.Duration, error) {
	p, err := c.profiles.Get(ctx, name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if p.DeletionTimestamp != nil {
		return c.reconcileDeletion(ctx, p)
	}
	if !slices.Contains(p.Finalizers, Finalizer) {
		p.Finalizers = append(p.Finalizers, Finalizer)
		_, err := c.profiles.Update(ctx, p)
		return 0, err
	}
	switch p.Status.Status {
	case "":
		return 0, c.setStatus(ctx, p, v1.StateCreating, "")
	case v1.StateCreating:
		// Nothing to provision: a profile is only a rule that admission
		// reads, so it is ready as soon as it is stored.
		return 0, c.setStatus(ctx, p, v1.StateActive, "")
	}
	return 0, nil
}

// podsGoneRecheck is how often a DELETING profile looks for its pods again;
// pods on nodes take their grace period to go.
const podsGoneRecheck = time.Second

func (c *Controller) reconcileDeletion(ctx context.Context, p *v1.FargateProfile) (time.Duration, error) {
	if !slices.Contains(p.Finalizers, Finalizer) {
		return 0, nil
	}
	if p.Status.Status != v1.StateDeleting {
		return 0, c.setStatus(ctx, p, v1.StateDeleting, "")
	}
	remaining, err := c.deletePods(ctx, p.Name)
	if err != nil {
		if statusErr := c.setStatus(ctx, p, v1.StateDeleteFailed, err.Error()); statusErr != nil {
			return 0, errors.Join(err, statusErr)
		}
		return 0, err
	}
	if remaining > 0 {
		return podsGoneRecheck, nil
	}
	p.Finalizers = slices.DeleteFunc(p.Finalizers, func(f string) bool { return f == Finalizer })
	_, err = c.profiles.Update(ctx, p)
	return 0, err
}

// deletePods deletes the pods placed by the profile and says how many are
// still there (deleted pods linger through their grace period).
func (c *Controller) deletePods(ctx context.Context, name string) (int, error) {
	list, err := c.pods.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		LabelSelector: profile.LabelFargateProfile + "=" + name,
	})
	if err != nil {
		return 0, fmt.Errorf("listing the pods of Fargate profile %q: %w", name, err)
	}
	for _, pod := range list.Items {
		if pod.DeletionTimestamp != nil {
			continue
		}
		err := c.pods.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return 0, fmt.Errorf("deleting pod %s/%s of Fargate profile %q: %w", pod.Namespace, pod.Name, name, err)
		}
	}
	return len(list.Items), nil
}

func (c *Controller) setStatus(ctx context.Context, p *v1.FargateProfile, state v1.ProfileState, message string) error {
	if p.Status.Status == state && p.Status.Message == message {
		return nil
	}
	p = p.DeepCopy()
	p.Status = v1.FargateProfileStatus{Status: state, Message: message}
	_, err := c.profiles.UpdateStatus(ctx, p)
	return err
}
