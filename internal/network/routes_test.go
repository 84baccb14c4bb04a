package network

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// routesTo lists ns's IPv4 routes in the main table to dst, any protocol.
func routesTo(t *testing.T, ns netns.NsHandle, dst string) []netlink.Route {
	t.Helper()
	routes, err := handle(t, ns).RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Dst: ipNet(netip.MustParsePrefix(dst)), Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// wantRoute checks that ns has exactly one route to dst, fargo's, via gw
// on link.
func wantRoute(t *testing.T, ns netns.NsHandle, dst, gw, link string) {
	t.Helper()
	routes := routesTo(t, ns, dst)
	if len(routes) != 1 {
		t.Fatalf("routes to %s = %+v, want one", dst, routes)
	}
	r := routes[0]
	l, err := handle(t, ns).LinkByIndex(r.LinkIndex)
	if err != nil {
		t.Fatal(err)
	}
	if r.Protocol != RouteProtocol || !r.Gw.Equal(net.ParseIP(gw)) || l.Attrs().Name != link {
		t.Fatalf("route to %s is proto %v via %v dev %s, want proto %v via %s dev %s", dst, r.Protocol, r.Gw, l.Attrs().Name, RouteProtocol, gw, link)
	}
}

func wantNoRoute(t *testing.T, ns netns.NsHandle, dst string) {
	t.Helper()
	if routes := routesTo(t, ns, dst); len(routes) != 0 {
		t.Fatalf("routes to %s = %+v, want none", dst, routes)
	}
}

func routeMap(kv ...string) map[netip.Prefix]netip.Addr {
	m := map[netip.Prefix]netip.Addr{}
	for i := 0; i < len(kv); i += 2 {
		m[netip.MustParsePrefix(kv[i])] = netip.MustParseAddr(kv[i+1])
	}
	return m
}

// The host (pods 10.90.0.0/24) sits on 192.0.2.0/24 with other hosts at
// .2 and .3; each sync leaves exactly the wanted routes of fargo's.
func TestSyncRoutes(t *testing.T) {
	h := newTestHost(t, "10.90.0.0/24")
	outside := newOutside(t, h) // the host is 192.0.2.1 on fgtout0, a neighbour 192.0.2.2
	nl := handle(t, h.ns)
	// Someone else's route, to a block fargo might route too.
	theirs := &netlink.Route{Dst: ipNet(netip.MustParsePrefix("10.99.0.0/24")), Gw: net.ParseIP("192.0.2.2"), Protocol: unix.RTPROT_STATIC}
	if err := nl.RouteAdd(theirs); err != nil {
		t.Fatal(err)
	}
	theirsStays := func(t *testing.T) {
		t.Helper()
		routes := routesTo(t, h.ns, "10.99.0.0/24")
		if len(routes) != 1 || routes[0].Protocol != unix.RTPROT_STATIC {
			t.Fatalf("routes to 10.99.0.0/24 = %+v, want the static one left alone", routes)
		}
	}

	t.Run("adds routes via neighbours", func(t *testing.T) {
		want := routeMap("10.91.0.0/24", "192.0.2.2", "10.92.0.0/16", "192.0.2.3")
		if err := h.SyncRoutes(want); err != nil {
			t.Fatal(err)
		}
		wantRoute(t, h.ns, "10.91.0.0/24", "192.0.2.2", "fgtout0")
		wantRoute(t, h.ns, "10.92.0.0/16", "192.0.2.3", "fgtout0")
		if got, err := h.Routes(); err != nil || !maps.Equal(got, want) {
			t.Fatalf("Routes() = %v, %v; want %v", got, err, want)
		}
		theirsStays(t)
	})
	t.Run("traffic follows them", func(t *testing.T) {
		// The other host at 192.0.2.2 has a pod at 10.91.0.7.
		out := handle(t, outside)
		lo, _ := out.LinkByName("lo")
		addAddr(t, out, lo, "10.91.0.7/32")
		if err := ping(t, h.ns, "10.91.0.7"); err != nil {
			t.Fatalf("host cannot reach the other host's pod over the route: %v", err)
		}
	})
	t.Run("replaces a changed next hop", func(t *testing.T) {
		if err := h.SyncRoutes(routeMap("10.91.0.0/24", "192.0.2.3", "10.92.0.0/16", "192.0.2.3")); err != nil {
			t.Fatal(err)
		}
		wantRoute(t, h.ns, "10.91.0.0/24", "192.0.2.3", "fgtout0")
		wantRoute(t, h.ns, "10.92.0.0/16", "192.0.2.3", "fgtout0")
	})
	t.Run("removes routes no longer wanted, only its own", func(t *testing.T) {
		if err := h.SyncRoutes(routeMap("10.92.0.0/16", "192.0.2.3")); err != nil {
			t.Fatal(err)
		}
		wantNoRoute(t, h.ns, "10.91.0.0/24")
		wantRoute(t, h.ns, "10.92.0.0/16", "192.0.2.3", "fgtout0")
		theirsStays(t)
	})
	t.Run("refuses a block overlapping its own", func(t *testing.T) {
		for _, block := range []string{"10.90.0.0/24", "10.90.0.128/25", "10.0.0.0/8"} {
			err := h.SyncRoutes(routeMap("10.93.0.0/24", "192.0.2.2", block, "192.0.2.2"))
			if err == nil || !strings.Contains(err.Error(), "overlaps this host's pod block 10.90.0.0/24") {
				t.Fatalf("SyncRoutes with %s = %v, want an overlap error", block, err)
			}
		}
		// Nothing changed.
		wantNoRoute(t, h.ns, "10.93.0.0/24")
		wantRoute(t, h.ns, "10.92.0.0/16", "192.0.2.3", "fgtout0")
		if routes := routesTo(t, h.ns, "10.90.0.0/24"); len(routes) != 1 || routes[0].Protocol == RouteProtocol {
			t.Fatalf("routes to the own block = %+v, want only the bridge's", routes)
		}
	})
	t.Run("skips next hops that are its own addresses", func(t *testing.T) {
		// 10.92.0.0/16's host moved onto this machine (192.0.2.1 is ours).
		if err := h.SyncRoutes(routeMap("10.92.0.0/16", "192.0.2.1", "10.94.0.0/24", "10.90.0.1", "10.95.0.0/24", "192.0.2.2")); err != nil {
			t.Fatal(err)
		}
		wantNoRoute(t, h.ns, "10.92.0.0/16")
		wantNoRoute(t, h.ns, "10.94.0.0/24")
		wantRoute(t, h.ns, "10.95.0.0/24", "192.0.2.2", "fgtout0")
	})
	t.Run("an unreachable next hop is an error, the rest still synced", func(t *testing.T) {
		err := h.SyncRoutes(routeMap("10.95.0.0/24", "192.0.2.2", "10.96.0.0/24", "198.51.100.1"))
		if err == nil || !strings.Contains(err.Error(), "10.96.0.0/24 via 198.51.100.1") {
			t.Fatalf("SyncRoutes via an unreachable next hop = %v, want an error naming it", err)
		}
		wantRoute(t, h.ns, "10.95.0.0/24", "192.0.2.2", "fgtout0")
		wantNoRoute(t, h.ns, "10.96.0.0/24")
	})
	t.Run("Teardown removes them", func(t *testing.T) {
		if err := h.SyncRoutes(routeMap("10.91.0.0/24", "192.0.2.2", "10.95.0.0/24", "192.0.2.3")); err != nil {
			t.Fatal(err)
		}
		if err := h.Teardown(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantNoRoute(t, h.ns, "10.91.0.0/24")
		wantNoRoute(t, h.ns, "10.95.0.0/24")
		if got, err := h.Routes(); err != nil || len(got) != 0 {
			t.Fatalf("Routes() after Teardown = %v, %v; want none", got, err)
		}
		theirsStays(t)
	})
}
