package host

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/network"
)

// keepRoutes keeps a route to every other host's pod blocks, via that
// host's address, until ctx ends; a host that leaves (its Host object is
// deleted) takes its routes with it. The apiserver reaches pod-nodes'
// kubelet API, and pods reach each other, over these routes. It also
// keeps the other hosts' addresses out of this host's pods' reach.
func keepRoutes(ctx context.Context, dyn dynamic.Interface, self string, net *network.Network) {
	informer := hostclient.NewInformer(dyn, 0)
	go informer.Run(ctx.Done())
	follow(ctx, informer, "Syncing routes to and fences of other hosts", func(store cache.Store) error {
		hosts := hostclient.ListFromStore(store)
		routes := routesTo(hosts, self)
		return errors.Join(net.SyncRoutes(routes), net.SetOtherHosts(addressesOf(hosts, self), slices.Collect(maps.Keys(routes))))
	})
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

// addressesOf are the other hosts' own addresses.
func addressesOf(hosts []v1.Host, self string) []netip.Addr {
	var out []netip.Addr
	for _, h := range hosts {
		if a, err := netip.ParseAddr(h.Spec.Address); err == nil && h.Name != self {
			out = append(out, a)
		}
	}
	return out
}
