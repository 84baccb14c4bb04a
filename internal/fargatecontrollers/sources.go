package fargatecontrollers

import (
	"context"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/admission"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/profileclient"
)

// sources gives admission what it reads on every pod: the profile index,
// rebuilt whenever a profile changes so a pod costs one lookup, and the
// logging decision, from informers that watch only aws-observability.
type sources struct {
	profiles  cache.SharedIndexInformer
	index     atomic.Pointer[profile.Index]
	factories []informers.SharedInformerFactory
	namespace cache.SharedIndexInformer
	configMap cache.SharedIndexInformer

	logging awslogging.Options
	// decision caches the logging decision for the stored namespace and
	// ConfigMap: checking a config builds its plugins, too much for every
	// pod.
	decision atomic.Pointer[loggingDecision]
}

// loggingDecision is a decision and the versions of the objects it was
// made from.
type loggingDecision struct {
	nsVersion, cmVersion string
	awslogging.Decision
}

var _ admission.Sources = (*sources)(nil)

func newSources(cs kubernetes.Interface, profiles cache.SharedIndexInformer, logging awslogging.Options) (*sources, error) {
	inLoggingNamespace := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(awslogging.Namespace))
	loggingNamespaceOnly := informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", awslogging.Namespace).String()
		}))
	s := &sources{
		profiles:  profiles,
		factories: []informers.SharedInformerFactory{inLoggingNamespace, loggingNamespaceOnly},
		namespace: loggingNamespaceOnly.Core().V1().Namespaces().Informer(),
		configMap: inLoggingNamespace.Core().V1().ConfigMaps().Informer(),
		logging:   logging,
	}
	s.index.Store(profile.NewIndex(nil))
	rebuild := func(any) { s.index.Store(profile.NewIndex(s.ProfileList())) }
	_, err := profiles.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rebuild,
		UpdateFunc: func(_, obj any) { rebuild(obj) },
		DeleteFunc: rebuild,
	})
	return s, err
}

func (s *sources) start(ctx context.Context) {
	for _, f := range s.factories {
		f.Start(ctx.Done())
	}
}

func (s *sources) synced() []cache.InformerSynced {
	return []cache.InformerSynced{s.namespace.HasSynced, s.configMap.HasSynced}
}

func (s *sources) Profiles() *profile.Index { return s.index.Load() }

func (s *sources) ProfileList() []v1.FargateProfile {
	return profileclient.ListFromStore(s.profiles.GetStore())
}

func (s *sources) Logging() awslogging.Decision {
	var (
		ns                   *corev1.Namespace
		cm                   *corev1.ConfigMap
		nsVersion, cmVersion string
	)
	if obj, ok, _ := s.namespace.GetStore().GetByKey(awslogging.Namespace); ok {
		ns = obj.(*corev1.Namespace)
		nsVersion = ns.ResourceVersion
	}
	if obj, ok, _ := s.configMap.GetStore().GetByKey(awslogging.Namespace + "/" + awslogging.ConfigMapName); ok {
		cm = obj.(*corev1.ConfigMap)
		cmVersion = cm.ResourceVersion
	}
	if d := s.decision.Load(); d != nil && d.nsVersion == nsVersion && d.cmVersion == cmVersion {
		return d.Decision
	}
	d := &loggingDecision{nsVersion: nsVersion, cmVersion: cmVersion, Decision: awslogging.DecideWith(ns, cm, s.logging)}
	s.decision.Store(d)
	return d.Decision
}

// profileSubnets returns the subnets of the profile called name, nil when
// it has none or is gone (then the host's blocks are used).
func (s *sources) profileSubnets(name string) []string {
	obj, ok, _ := s.profiles.GetStore().GetByKey(name)
	if !ok {
		return nil
	}
	p, err := profileclient.FromObject(obj)
	if err != nil {
		return nil
	}
	return p.Spec.Subnets
}

// profileTier is a profile's sandbox tier kind, "" when it names none.
func (s *sources) profileTier(name string) string {
	obj, ok, _ := s.profiles.GetStore().GetByKey(name)
	if !ok {
		return ""
	}
	p, err := profileclient.FromObject(obj)
	if err != nil {
		return ""
	}
	return p.Spec.Tier
}
