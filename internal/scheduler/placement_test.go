package scheduler

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/sizing"
)

func TestRankHosts(t *testing.T) {
	size := sizing.Size{MilliCPU: 1000, MemoryMiB: 2048}
	tests := []struct {
		name  string
		cands []candidate
		want  []string
	}{
		{"too small left out", []candidate{
			{name: "cpu", freeMilli: 999, freeMiB: 9999},
			{name: "mem", freeMilli: 9999, freeMiB: 2047},
			{name: "exact", freeMilli: 1000, freeMiB: 2048},
		}, []string{"exact"}},
		{"fewest of the owner in the zone first", []candidate{
			{name: "busy", freeMilli: 9999, freeMiB: 9999, spread: 2},
			{name: "quiet", freeMilli: 9999, freeMiB: 4096, spread: 1},
		}, []string{"quiet", "busy"}},
		{"then most free memory", []candidate{
			{name: "less", freeMilli: 99999, freeMiB: 4096},
			{name: "more", freeMilli: 2000, freeMiB: 8192},
		}, []string{"more", "less"}},
		{"then name", []candidate{
			{name: "b", freeMilli: 2000, freeMiB: 4096},
			{name: "a", freeMilli: 2000, freeMiB: 4096},
		}, []string{"a", "b"}},
		{"none", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{}
			for _, c := range rankHosts(tt.cands, size) {
				got = append(got, c.name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFreeIP(t *testing.T) {
	tests := []struct {
		name     string
		podCIDRs []string
		subnets  []string
		taken    []string
		want     string // "" = none
	}{
		{"skips network and gateway", []string{"10.0.0.0/24"}, nil, nil, "10.0.0.2"},
		{"skips taken", []string{"10.0.0.0/24"}, nil, []string{"10.0.0.2", "10.0.0.3"}, "10.0.0.4"},
		{"skips broadcast", []string{"10.0.0.0/30"}, nil, []string{"10.0.0.2"}, ""},
		{"/31 has nothing to give", []string{"10.0.0.0/31"}, nil, nil, ""},
		{"next block", []string{"10.0.0.0/30", "10.0.1.0/30"}, nil, []string{"10.0.0.2"}, "10.0.1.2"},
		{"subnet inside the block", []string{"10.0.0.0/16"}, []string{"10.0.5.0/24"}, nil, "10.0.5.0"},
		{"subnet at the block start keeps the block's reserved addresses", []string{"10.0.0.0/16"}, []string{"10.0.0.0/24"}, nil, "10.0.0.2"},
		{"block inside the subnet", []string{"10.0.7.0/24"}, []string{"10.0.0.0/8"}, nil, "10.0.7.2"},
		{"disjoint subnet", []string{"10.0.0.0/24"}, []string{"192.168.0.0/16"}, nil, ""},
		{"junk and IPv6 ignored", []string{"nonsense", "fd00::/64", "10.0.0.0/24"}, []string{"x", "10.0.0.0/24"}, nil, "10.0.0.2"},
		{"block given unmasked", []string{"10.0.0.9/24"}, nil, nil, "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			taken := map[netip.Addr]bool{}
			for _, ip := range tt.taken {
				taken[netip.MustParseAddr(ip)] = true
			}
			got := ""
			for _, r := range ipRanges(tt.podCIDRs, tt.subnets) {
				if ip, ok := r.freeIP(func(a netip.Addr) bool { return taken[a] }); ok {
					got = ip.String()
					break
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetLeaseRevives(t *testing.T) {
	now := time.Now()
	ttl := 40 * time.Second
	tests := []struct {
		name   string
		before []time.Time // earlier renewals
		renew  time.Time
		want   bool
	}{
		{"first heartbeat", nil, now, true},
		{"stale to fresh", []time.Time{now.Add(-time.Minute)}, now, true},
		{"fresh to fresh", []time.Time{now.Add(-10 * time.Second)}, now, false},
		{"stale to stale", nil, now.Add(-time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAccounts()
			for _, r := range tt.before {
				a.setLease("h", r, now, ttl)
			}
			if got := a.setLease("h", tt.renew, now, ttl); got != tt.want {
				t.Errorf("revived = %v, want %v", got, tt.want)
			}
		})
	}
}
