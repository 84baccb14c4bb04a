package network

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

func TestSecondBridgeOnOverlappingRangeIsRefused(t *testing.T) {
	first := newTestHost(t, "10.99.0.0/24")
	second := Config{Bridge: "fgtest1", NetnsDir: t.TempDir(), NetnsPrefix: "pod2-", PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.99.0.0/16")}}
	var n *Network
	runIn(t, first.ns, func() error {
		var err error
		n, err = New(second)
		return err
	})
	defer n.Close()
	err := n.Setup(context.Background())
	if err == nil {
		n.Teardown(context.Background())
		t.Fatal("a second bridge on an overlapping pod range was set up")
	}
	for _, want := range []string{"pod range 10.99.0.0/16 overlaps", "on fgtest0", "fargo down", "--pod-cidr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, lerr := handle(t, first.ns).LinkByName("fgtest1"); lerr == nil {
		t.Error("the refused bridge fgtest1 was created anyway")
	}
	// The first host is untouched and converges as before.
	if err := first.Setup(context.Background()); err != nil {
		t.Errorf("the first host's Setup after the refusal: %v", err)
	}
	first.attach(t, "pod-a", "10.99.0.5")
}
