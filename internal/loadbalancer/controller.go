package loadbalancer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fargo-dev/fargo/internal/reconcile"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/fargo-dev/fargo/internal/hostclient"
)

// Component is the source of this controller's events.
const Component = "fargo-loadbalancer"

// resync re-runs the allocation now and then, so that a status write lost
// with its watch event is redone; unchanged outcomes write nothing.
const resync = 10 * time.Minute

// allKey is the only queue key: one Service's outcome depends on the
// others', so every change re-runs the allocation of all.
const allKey = "all"

// Config is what the controller needs.
type Config struct {
	Client kubernetes.Interface
	// Dynamic serves Hosts (hostclient).
	Dynamic dynamic.Interface
	// AddressPool, when not empty, is where Services get their one address
	// from instead of the hosts'. A /32 is one address.
	AddressPool []netip.Prefix
	// ReservedPorts may not be used on host addresses; 22/TCP (ssh) always
	// is. They do not apply to pool addresses, which no host serves on.
	ReservedPorts []ReservedPort
}

func (cfg Config) validate() error {
	if cfg.Client == nil || cfg.Dynamic == nil {
		return errors.New("loadbalancer: Config needs Client and Dynamic")
	}
	for i, p := range cfg.AddressPool {
		if !p.IsValid() {
			return fmt.Errorf("load-balancer address pool: entry %d is not a CIDR; use CIDRs such as 192.0.2.0/28", i)
		}
	}
	for _, r := range cfg.ReservedPorts {
		if r.Port < 1 || r.Port > 65535 {
			return fmt.Errorf("reserved port %d (%s) is not a port number; use 1 to 65535", r.Port, r.Name)
		}
		switch cmp.Or(r.Protocol, corev1.ProtocolTCP) {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			return fmt.Errorf("reserved port %d (%s) has protocol %q; use TCP, UDP or SCTP", r.Port, r.Name, r.Protocol)
		}
	}
	return nil
}

// Run gives LoadBalancer Services their addresses until ctx ends, which it
// reports as a nil error.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	defer b.Shutdown()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	c, err := newController(cfg, b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Component}))
	if err != nil {
		return err
	}
	return c.run(ctx)
}

// controller feeds Allocate from informers and carries out its outcomes.
type controller struct {
	cfg      Config
	recorder record.EventRecorder
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	hostInf  cache.SharedIndexInformer
	synced   []cache.InformerSynced
	loop     *reconcile.Loop[string]
	// memory is only touched by the worker, which is alone.
	memory map[types.NamespacedName]memory
	// started and passes count begun and finished allocation passes, for
	// tests to wait on.
	started, passes atomic.Int64
}

func newController(cfg Config, recorder record.EventRecorder) (*controller, error) {
	factory := informers.NewSharedInformerFactory(cfg.Client, resync)
	svcInf := factory.Core().V1().Services()
	c := &controller{
		cfg:      cfg,
		recorder: recorder,
		factory:  factory,
		services: svcInf.Lister(),
		hostInf:  hostclient.NewInformer(cfg.Dynamic, resync),
		memory:   map[types.NamespacedName]memory{},
	}
	c.loop = reconcile.New(Component, c.pass)
	enqueue := func(any) { c.loop.Add(allKey) }
	handler := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue}
	for _, inf := range []cache.SharedIndexInformer{svcInf.Informer(), c.hostInf} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
		c.synced = append(c.synced, inf.HasSynced)
	}
	return c, nil
}

// run starts the informers and works until ctx ends.
func (c *controller) run(ctx context.Context) error {
	defer utilruntime.HandleCrash()
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	go c.hostInf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	c.loop.Run(ctx, 1)
	return nil
}

// pass runs one allocation pass over every Service.
func (c *controller) pass(ctx context.Context, _ string) (time.Duration, error) {
	c.started.Add(1)
	defer c.passes.Add(1)
	return 0, c.sync(ctx)
}

// sync allocates for every Service and carries out each one's step.
func (c *controller) sync(ctx context.Context) error {
	svcs, err := c.services.List(labels.Everything())
	if err != nil {
		return err
	}
	slices.SortFunc(svcs, func(a, b *corev1.Service) int { return cmp.Compare(keyOf(a).String(), keyOf(b).String()) })
	outcomes := Allocate(Input{
		Services:      svcs,
		HostAddresses: ReadyAddresses(hostclient.ListFromStore(c.hostInf.GetStore())),
		Pool:          c.cfg.AddressPool,
		Reserved:      c.cfg.ReservedPorts,
	})
	var errs []error
	live := make(map[types.NamespacedName]bool, len(svcs))
	for _, svc := range svcs {
		live[keyOf(svc)] = true
		if err := c.apply(ctx, svc, outcomes[keyOf(svc)]); err != nil {
			errs = append(errs, err)
		}
	}
	for key := range c.memory {
		if !live[key] {
			delete(c.memory, key)
		}
	}
	return errors.Join(errs...)
}

// apply writes svc's status if it differs, then records the step's events:
// a failed write is retried, and its events wait for it.
func (c *controller) apply(ctx context.Context, svc *corev1.Service, out Outcome) error {
	key := keyOf(svc)
	s := plan(svc, out, c.memory[key])
	if !sameIngress(s.ingress, svc.Status.LoadBalancer.Ingress) {
		upd := svc.DeepCopy()
		upd.Status.LoadBalancer.Ingress = s.ingress
		_, err := c.cfg.Client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("writing the load-balancer status of Service %s: %w", key, err)
		}
	}
	for _, e := range s.events {
		c.recorder.Event(svc, e.kind, e.reason, e.message)
	}
	c.memory[key] = s.next
	return nil
}
