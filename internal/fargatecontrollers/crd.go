package fargatecontrollers

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// installCRD creates the CRD, or brings a stored one (from an older fargo)
// up to this version, waits until the apiserver serves it, and returns
// when it became Established.
func installCRD(ctx context.Context, cfg *rest.Config, want *apiextensionsv1.CustomResourceDefinition) (established time.Time, err error) {
	cs, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return time.Time{}, err
	}
	crds := cs.ApiextensionsV1().CustomResourceDefinitions()
	have, err := crds.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = crds.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		want.ResourceVersion = have.ResourceVersion
		_, err = crds.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("installing CRD %s: %w", want.Name, err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd, err := crds.Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = c.LastTransitionTime.Time
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return time.Time{}, fmt.Errorf("CRD %s not established: %w", want.Name, err)
	}
	return established, waitServed(ctx, cfg, want)
}

// createDelay is how long after a CRD became Established the apiserver
// holds each create of its resources for 2 s (apiextensions'
// customresource_handler.go, "justCreated", for HA caches). fargo says
// it is ready only after it, so that the host agent's first Host and a
// user's first profile are not held.
const createDelay = 2 * time.Second

// settle waits until createDelay has passed since established.
func settle(ctx context.Context, established time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(established.Add(createDelay))):
		return nil
	}
}

// waitServed waits until the resource answers a list. Established comes a
// moment before the apiserver serves it; an informer whose first list
// fails backs off for a second, which fargo's start would wait out.
func waitServed(ctx context.Context, cfg *rest.Config, crd *apiextensionsv1.CustomResourceDefinition) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: crd.Spec.Versions[0].Name, Resource: crd.Spec.Names.Plural}
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			gvr.Version = v.Name
		}
	}
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	})
}
