package agent

import (
	"context"
	"net/netip"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/network"
)

// routeRetry is how soon routes are synced again after a failure.
const routeRetry = 5 * time.Second

// keepRoutes keeps a route to every other host's pod blocks, via that
// host's address, until ctx ends; a host that leaves (its Host object is
// deleted) takes its routes with it. The apiserver reaches pod-nodes'
// kubelet API, and pods reach each other, over these routes.
func keepRoutes(ctx context.Context, dyn dynamic.Interface, self string, net *network.Network) {
	informer := hostclient.NewInformer(dyn, 0)
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke,
	})
	go informer.Run(ctx.Done())
	log := klog.FromContext(ctx)
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry.C:
		}
		if !informer.HasSynced() {
			retry.Reset(100 * time.Millisecond)
			continue
		}
		if err := net.SyncRoutes(routesTo(hostclient.ListFromStore(informer.GetStore()), self)); err != nil {
			log.Error(err, "Syncing routes to other hosts' pods, will retry")
			retry.Reset(routeRetry)
		}
	}
}

// routesTo are the other hosts' pod blocks, each via its host's address;
// hosts without an address are not routed to.
func routesTo(hosts []v1.Host, self string) map[netip.Prefix]netip.Addr {
	want := map[netip.Prefix]netip.Addr{}
	for _, h := range hosts {
		via, err := netip.ParseAddr(h.Spec.Address)
		if h.Name == self || err != nil {
			continue
		}
		for _, s := range h.Spec.PodCIDRs {
			if p, err := netip.ParsePrefix(s); err == nil {
				want[p.Masked()] = via
			}
		}
	}
	return want
}
