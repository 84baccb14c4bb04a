package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestPodsReachEachOtherAndTheGateway(t *testing.T) {
	h := newTestHost(t, "10.90.0.0/24", "10.91.0.0/24")
	a := h.attach(t, "pod-a", "10.90.0.10")
	b := h.attach(t, "pod-b", "10.90.0.11")
	c := h.attach(t, "pod-c", "10.91.0.10")
	serverA := serveTCP(t, a, "10.90.0.10:0")

	tests := []struct {
		name   string
		from   netns.NsHandle
		fromIP string
	}{
		{"same block", b, "10.90.0.11"},
		{"other block, routed by the host", c, "10.91.0.10"},
	}
	for _, tt := range tests {
		t.Run("tcp "+tt.name, func(t *testing.T) {
			seen, err := dialTCP(t, tt.from, serverA)
			if err != nil {
				t.Fatalf("connect to pod-a at %s: %v", serverA, err)
			}
			if seen != tt.fromIP {
				t.Fatalf("pod-a saw the connection from %s, want the pod's own IP %s (no NAT between pods)", seen, tt.fromIP)
			}
		})
	}
	pings := []struct {
		name string
		from netns.NsHandle
		dst  string
	}{
		{"pod to its gateway", b, "10.90.0.1"},
		{"pod to pod", b, "10.90.0.10"},
		{"pod to pod in other block", c, "10.90.0.11"},
	}
	for _, tt := range pings {
		t.Run("ping "+tt.name, func(t *testing.T) {
			if err := ping(t, tt.from, tt.dst); err != nil {
				t.Fatalf("ping %s: %v", tt.dst, err)
			}
		})
	}
}

// A pod's first packet must not be lost: losing its first ARP request costs
// a second of pod start (the kernel retries ARP after 1 s).
func TestNewPodTalksAtOnce(t *testing.T) {
	const firstReplyWithin = 300 * time.Millisecond
	t.Run("first pod on a fresh host reaches its gateway", func(t *testing.T) {
		for i := range 5 {
			h := newTestHost(t, "10.89.0.0/24")
			pod := h.attach(t, "pod-a", "10.89.0.10")
			if err := pingWithin(t, pod, "10.89.0.1", firstReplyWithin); err != nil {
				t.Fatalf("host %d: first ping to the gateway right after Attach failed: %v", i, err)
			}
		}
	})
	t.Run("each new pod reaches a peer", func(t *testing.T) {
		h := newTestHost(t, "10.89.0.0/24")
		h.attach(t, "peer", "10.89.0.2")
		for i := range 20 {
			pod := h.attach(t, fmt.Sprintf("pod-%d", i), fmt.Sprintf("10.89.0.%d", 10+i))
			if err := pingWithin(t, pod, "10.89.0.2", firstReplyWithin); err != nil {
				t.Fatalf("pod-%d: first ping right after Attach failed: %v", i, err)
			}
		}
	})
}

func TestPodHasAddressAndDefaultRoute(t *testing.T) {
	h := newTestHost(t, "10.92.0.0/16")
	nl := handle(t, h.attach(t, "pod-a", "10.92.3.4"))

	eth0, err := nl.LinkByName("eth0")
	if err != nil {
		t.Fatalf("no eth0 in pod netns: %v", err)
	}
	if eth0.Attrs().Flags&net.FlagUp == 0 || eth0.Attrs().MTU != 1500 {
		t.Errorf("eth0 flags %v MTU %d, want up with MTU 1500", eth0.Attrs().Flags, eth0.Attrs().MTU)
	}
	addrs, err := nl.AddrList(eth0, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "10.92.3.4/16" {
		t.Errorf("eth0 addresses = %v (%v), want exactly 10.92.3.4/16", addrs, err)
	}
	routes, err := nl.RouteList(eth0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var gw string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			gw = r.Gw.String()
		}
	}
	if gw != "10.92.0.1" {
		t.Errorf("default route via %q, want via 10.92.0.1 (routes: %v)", gw, routes)
	}
	lo, err := nl.LinkByName("lo")
	if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo not up in pod netns: %v", err)
	}
}

func TestDetachLeavesNothing(t *testing.T) {
	h := newTestHost(t, "10.94.0.0/24")
	path, err := h.Attach(context.Background(), "pod-a", netip.MustParseAddr("10.94.0.10"))
	if err != nil {
		t.Fatal(err)
	}
	if uids, _ := h.Attached(); len(uids) != 1 || uids[0] != "pod-a" {
		t.Fatalf("Attached() = %v, want [pod-a]", uids)
	}
	for i := range 2 { // the second Detach finds nothing and must not fail
		if err := h.Detach(context.Background(), "pod-a"); err != nil {
			t.Fatalf("Detach #%d: %v", i+1, err)
		}
	}
	assertNothingLeft(t, h, path)
}

func assertNothingLeft(t *testing.T, h *testHost, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if fileExists(p) {
			t.Errorf("netns file %s still exists", p)
		}
	}
	if m := mountedUnder(t, h.dir); len(m) != 0 {
		t.Errorf("netns mounts left: %v", m)
	}
	if links := fargoLinks(t, h.ns, hostVethPrefix); len(links) != 0 {
		t.Errorf("pod veths left: %v", links)
	}
	if uids, _ := h.Attached(); len(uids) != 0 {
		t.Errorf("Attached() = %v, want none", uids)
	}
}

func TestAttachCompletesAfterPartialAttach(t *testing.T) {
	tests := []struct {
		name  string
		crash func(t *testing.T, h *testHost, path string)
	}{
		{"empty netns file, never mounted", func(t *testing.T, h *testHost, path string) {
			if err := os.WriteFile(path, nil, 0o444); err != nil {
				t.Fatal(err)
			}
		}},
		{"netns mounted, no veth", func(t *testing.T, h *testHost, path string) {
			h.attach(t, "pod-a", "10.95.0.10")
			if err := deleteLink(handle(t, h.ns), HostVethName("pod-a")); err != nil {
				t.Fatal(err)
			}
		}},
		{"veth detached from the bridge and down", func(t *testing.T, h *testHost, path string) {
			h.attach(t, "pod-a", "10.95.0.10")
			nl := handle(t, h.ns)
			veth, _ := nl.LinkByName(HostVethName("pod-a"))
			nl.LinkSetNoMaster(veth)
			nl.LinkSetDown(veth)
		}},
		{"already fully attached", func(t *testing.T, h *testHost, path string) {
			h.attach(t, "pod-a", "10.95.0.10")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHost(t, "10.95.0.0/24")
			peer := h.attach(t, "pod-b", "10.95.0.11")
			server := serveTCP(t, peer, "10.95.0.11:0")
			tt.crash(t, h, filepath.Join(h.dir, "pod-pod-a"))

			pod := h.attach(t, "pod-a", "10.95.0.10")
			if seen, err := dialTCP(t, pod, server); err != nil || seen != "10.95.0.10" {
				t.Fatalf("pod-a after re-Attach: reached %s as %q, err %v", server, seen, err)
			}
		})
	}
}

func TestAttachAgainWithNewIPReplacesTheAddress(t *testing.T) {
	h := newTestHost(t, "10.86.0.0/24")
	h.attach(t, "pod-a", "10.86.0.10")
	nl := handle(t, h.attach(t, "pod-a", "10.86.0.20"))
	eth0, err := nl.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := nl.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.86.0.20/24" {
		t.Fatalf("eth0 addresses = %v, want only 10.86.0.20/24", addrs)
	}
}

func TestConcurrentAttachDetach(t *testing.T) {
	const pods = 100
	h := newTestHost(t, "10.96.0.0/24")
	paths := make([]string, pods)
	forEachPod(t, pods, func(i int) error {
		var err error
		paths[i], err = h.Attach(context.Background(), fmt.Sprintf("pod-%03d", i), netip.AddrFrom4([4]byte{10, 96, 0, byte(10 + i)}))
		return err
	})
	if uids, _ := h.Attached(); len(uids) != pods {
		t.Fatalf("Attached() lists %d pods, want %d", len(uids), pods)
	}
	if links := fargoLinks(t, h.ns, hostVethPrefix); len(links) != pods {
		t.Fatalf("%d pod veths, want %d", len(links), pods)
	}
	forEachPod(t, pods, func(i int) error {
		return h.Detach(context.Background(), fmt.Sprintf("pod-%03d", i))
	})
	assertNothingLeft(t, h, paths...)
}

// forEachPod runs fn for pods 0..n-1 all at once and fails on any error.
func forEachPod(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pod %d: %v", i, err)
		}
	}
}

func TestAttachRejectsAddressesNoPodMayHave(t *testing.T) {
	h := newTestHost(t, "10.97.0.0/24")
	tests := []struct{ name, uid, ip string }{
		{"outside the host's blocks", "pod-a", "10.98.0.5"},
		{"the gateway", "pod-a", "10.97.0.1"},
		{"the network address", "pod-a", "10.97.0.0"},
		{"the broadcast address", "pod-a", "10.97.0.255"},
		{"a UID with a slash", "../etc", "10.97.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.Attach(context.Background(), tt.uid, netip.MustParseAddr(tt.ip)); err == nil {
				t.Fatalf("Attach(%q, %s) succeeded, want an error", tt.uid, tt.ip)
			}
		})
	}
	if uids, _ := h.Attached(); len(uids) != 0 {
		t.Fatalf("refused Attach left netns files for %v", uids)
	}
}

func TestFailedAttachOfNewPodLeavesNothing(t *testing.T) {
	requireRoot(t)
	h := newTestHost(t, "10.87.0.0/24")
	// Without the bridge Attach cannot finish.
	if err := deleteLink(handle(t, h.ns), "fgtest0"); err != nil {
		t.Fatal(err)
	}
	_, err := h.Attach(context.Background(), "pod-a", netip.MustParseAddr("10.87.0.10"))
	if err == nil || !strings.Contains(err.Error(), "did Setup run?") {
		t.Fatalf("Attach without a bridge: error %v, want one pointing at Setup", err)
	}
	if fileExists(filepath.Join(h.dir, "pod-pod-a")) || len(mountedUnder(t, h.dir)) != 0 {
		t.Fatal("failed Attach left a netns file or mount behind")
	}
	if links := fargoLinks(t, h.ns, hostVethPrefix); len(links) != 0 {
		t.Fatalf("failed Attach left pod veths: %v", links)
	}
}
