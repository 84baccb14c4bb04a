package network

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestSetupIsIdempotent(t *testing.T) {
	h := newTestHost(t, "10.80.0.0/24", "10.81.0.0/16")
	before := ruleCounts(t, h.ns)
	// Setup already ran once in newTestHost.
	if err := h.Setup(context.Background()); err != nil {
		t.Fatalf("second Setup: %v", err)
	}

	t.Run("bridge up with one gateway per block", func(t *testing.T) {
		nl := handle(t, h.ns)
		br, err := nl.LinkByName("fgtest0")
		if err != nil {
			t.Fatal(err)
		}
		if br.Type() != "bridge" || br.Attrs().OperState != netlink.OperUp {
			t.Fatalf("link fgtest0 is %s in state %s, want a bridge with carrier before any pod", br.Type(), br.Attrs().OperState)
		}
		addrs, err := nl.AddrList(br, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range addrs {
			got = append(got, a.IPNet.String())
		}
		slices.Sort(got)
		if want := []string{"10.80.0.1/24", "10.81.0.1/16"}; !slices.Equal(got, want) {
			t.Fatalf("bridge addresses = %v, want %v", got, want)
		}
	})
	t.Run("ip forwarding on in the host namespace", func(t *testing.T) {
		if got := readSysctl(t, h.ns, "net/ipv4/ip_forward"); got != "1" {
			t.Fatalf("ip_forward = %q, want 1", got)
		}
	})
	t.Run("no IPv6 on the bridge", func(t *testing.T) {
		if got := readSysctl(t, h.ns, "net/ipv6/conf/fgtest0/disable_ipv6"); got != "1" {
			t.Fatalf("disable_ipv6 = %q, want 1", got)
		}
	})
	t.Run("firewall rules not duplicated", func(t *testing.T) {
		after := ruleCounts(t, h.ns)
		if len(after) != 3 {
			t.Fatalf("chains in table %s = %v, want input, forward, postrouting", TableName("fgtest0"), after)
		}
		for chain, n := range before {
			if after[chain] != n || n == 0 {
				t.Fatalf("chain %s has %d rules after second Setup, %d after first", chain, after[chain], n)
			}
		}
	})
}

func TestSetupLeavesOtherTablesAlone(t *testing.T) {
	h := newTestHost(t, "10.82.0.0/24")
	c := nftConn(h.ns)
	other := c.AddTable(&nftables.Table{Name: "someone-else", Family: nftables.TableFamilyINet})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := h.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := nftConn(h.ns).ListTableOfFamily(other.Name, other.Family); err != nil {
		t.Fatalf("table %s gone after Setup and Teardown: %v", other.Name, err)
	}
}

func TestTeardownRemovesEverything(t *testing.T) {
	h := newTestHost(t, "10.83.0.0/24")
	h.attach(t, "pod-a", "10.83.0.10")
	if err := h.Teardown(context.Background()); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if links := append(fargoLinks(t, h.ns, "fgtest0"), fargoLinks(t, h.ns, hostVethPrefix)...); len(links) != 0 {
		t.Errorf("links left after Teardown: %v", links)
	}
	if _, err := nftConn(h.ns).ListTableOfFamily(TableName("fgtest0"), nftables.TableFamilyIPv4); err == nil {
		t.Errorf("table %s still exists after Teardown", TableName("fgtest0"))
	}
	if uids, _ := h.Attached(); len(uids) != 0 {
		t.Errorf("Attached() after Teardown = %v, want none", uids)
	}
	if m := mountedUnder(t, h.dir); len(m) != 0 {
		t.Errorf("netns mounts left after Teardown: %v", m)
	}
	if err := h.Teardown(context.Background()); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
}

func handle(t testing.TB, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func nftConn(ns netns.NsHandle) *nftables.Conn {
	c, _ := nftables.New(nftables.WithNetNSFd(int(ns)))
	return c
}

// ruleCounts maps each chain of fargo's table to its number of rules.
func ruleCounts(t testing.TB, ns netns.NsHandle) map[string]int {
	t.Helper()
	c := nftConn(ns)
	table := &nftables.Table{Name: TableName("fgtest0"), Family: nftables.TableFamilyIPv4}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, ch := range chains {
		if ch.Table.Name != TableName("fgtest0") {
			continue
		}
		rules, err := c.GetRules(table, ch)
		if err != nil {
			t.Fatal(err)
		}
		counts[ch.Name] = len(rules)
	}
	return counts
}

func readSysctl(t testing.TB, ns netns.NsHandle, name string) string {
	t.Helper()
	var value string
	runIn(t, ns, func() error {
		b, err := os.ReadFile("/proc/sys/" + name)
		value = strings.TrimSpace(string(b))
		return err
	})
	return value
}
