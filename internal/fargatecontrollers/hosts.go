package fargatecontrollers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/hostmonitor"
	"github.com/fargo-dev/fargo/internal/join"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/scheduler"
)

// hostSide is everything of the server that deals with hosts: what lets
// them join, the heartbeat monitor, and the fargate-scheduler that places
// pods on them.
type hostSide struct {
	factories []informers.SharedInformerFactory
	informers []cache.SharedIndexInformer
	scheduler *scheduler.Scheduler
	monitor   *hostmonitor.Monitor
	cs        kubernetes.Interface
}

// newHostSide installs what joining needs (RBAC, cluster-info, the token)
// and wires the scheduler and monitor to their informers; start runs them.
func newHostSide(ctx context.Context, cfg Config, cs kubernetes.Interface, dyn dynamic.Interface, src *sources) (*hostSide, error) {
	if err := join.InstallServerObjects(ctx, cs, cfg.ServerURL, cfg.CABundle); err != nil {
		return nil, fmt.Errorf("installing what hosts need to join: %w", err)
	}
	if _, err := join.EnsureToken(ctx, cs, cfg.TokenFile, cfg.CABundle); err != nil {
		return nil, fmt.Errorf("join token: %w", err)
	}
	if err := writeRuntimeClasses(ctx, cs); err != nil {
		return nil, err
	}
	if err := writeClusterInfo(ctx, cs, cfg); err != nil {
		return nil, err
	}

	fargatePods := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.schedulerName", podnode.SchedulerName).String()
	}))
	podNodes := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = labels.SelectorFromSet(labels.Set{profile.AnnotationComputeType: profile.ComputeTypeFargate}).String()
	}))
	systemLeases := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(v1.SystemNamespace))
	hostInformer := hostclient.NewInformer(dyn, 0)
	leaseInformer := systemLeases.Coordination().V1().Leases().Informer()
	pods := fargatePods.Core().V1().Pods().Informer()
	nodes := podNodes.Core().V1().Nodes().Informer()

	hosts := hostclient.New(dyn)
	h := &hostSide{
		factories: []informers.SharedInformerFactory{fargatePods, podNodes, systemLeases},
		informers: []cache.SharedIndexInformer{hostInformer},
		cs:        cs,
		monitor:   hostmonitor.New(hosts, v1.HostLeaseDurationSeconds*time.Second, time.Now),
		scheduler: scheduler.New(scheduler.Config{
			Client:         cs,
			Region:         cfg.Region,
			LaunchQPS:      cfg.LaunchQPS,
			LaunchBurst:    cfg.LaunchBurst,
			Logging:        src.Logging,
			ProfileSubnets: src.profileSubnets,
			ProfileTier:    src.profileTier,
		}),
	}
	if err := h.monitor.Register(hostInformer, leaseInformer); err != nil {
		return nil, err
	}
	if err := h.scheduler.Register(pods, nodes, hostInformer, leaseInformer); err != nil {
		return nil, err
	}
	return h, nil
}

// start runs the informers, waits for them, then the loops; errors of a
// loop end the server, as the admission webhook's do.
func (h *hostSide) start(ctx context.Context, errs chan<- error) error {
	var synced []cache.InformerSynced
	for _, f := range h.factories {
		f.Start(ctx.Done())
	}
	for _, inf := range h.informers {
		go inf.Run(ctx.Done())
		synced = append(synced, inf.HasSynced)
	}
	for _, f := range h.factories {
		for _, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return ctx.Err()
			}
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	run := func(name string, fn func(context.Context) error) {
		go func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run("fargate-scheduler", h.scheduler.Run)
	run("host monitor", h.monitor.Run)
	run("join approver", func(ctx context.Context) error { return join.RunApprover(ctx, h.cs) })
	return nil
}

// writeClusterInfo publishes what agents read of the cluster: its region
// (their default zone is <region>a) and DNS settings for pods.
func writeClusterInfo(ctx context.Context, cs kubernetes.Interface, cfg Config) error {
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: v1.ClusterInfoName, Namespace: v1.SystemNamespace},
		Data: map[string]string{
			v1.ClusterInfoRegionKey: cfg.Region,
			v1.ClusterInfoDNSKey:    cfg.ClusterDNS,
			v1.ClusterInfoDomainKey: cfg.ClusterDomain,
			v1.ClusterInfoNameKey:   cfg.ClusterName,
		},
	}
	cms := cs.CoreV1().ConfigMaps(v1.SystemNamespace)
	_, err := cms.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = cms.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing %s/%s: %w", v1.SystemNamespace, v1.ClusterInfoName, err)
	}
	return nil
}
