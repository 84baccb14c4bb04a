package network

import (
	"net/netip"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no pod CIDRs", Config{}, "no PodCIDRs"},
		{"IPv6 block", Config{PodCIDRs: prefixes("fd00::/64")}, "IPv6"},
		{"overlapping blocks", Config{PodCIDRs: prefixes("10.42.0.0/16", "10.42.1.0/24")}, "overlap"},
		{"block too small", Config{PodCIDRs: prefixes("10.42.0.0/31")}, "too small"},
		{"bridge name too long", Config{Bridge: "a-very-long-bridge", PodCIDRs: prefixes("10.42.0.0/24")}, "longer than 15"},
		{"relative netns dir", Config{NetnsDir: "run/netns", PodCIDRs: prefixes("10.42.0.0/24")}, "absolute"},
		{"IPv6 cluster CIDR", Config{PodCIDRs: prefixes("10.42.0.0/24"), ClusterCIDRs: prefixes("fd00::/48")}, "IPv6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestGateway(t *testing.T) {
	n, err := New(Config{PodCIDRs: prefixes("10.42.0.0/16", "192.168.50.7/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tests := []struct {
		ip     string
		want   string
		wantOK bool
	}{
		{"10.42.3.9", "10.42.0.1", true},
		{"192.168.50.200", "192.168.50.1", true},
		{"10.43.0.5", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			gw, ok := n.Gateway(netip.MustParseAddr(tt.ip))
			if ok != tt.wantOK || (ok && gw.String() != tt.want) {
				t.Fatalf("Gateway(%s) = %v, %v; want %s, %v", tt.ip, gw, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestHostVethName(t *testing.T) {
	a, b := HostVethName("8a3e0f51-1c2d-4e5f-9a8b-7c6d5e4f3a2b"), HostVethName("other")
	if len(a) != 15 || !strings.HasPrefix(a, "fgv") {
		t.Fatalf("HostVethName = %q, want fgv + 12 hex characters", a)
	}
	if a == b || a != HostVethName("8a3e0f51-1c2d-4e5f-9a8b-7c6d5e4f3a2b") {
		t.Fatalf("names must be stable per UID and differ between UIDs: %q %q", a, b)
	}
}

func TestBroadcastOf(t *testing.T) {
	tests := map[string]string{"10.42.0.0/16": "10.42.255.255", "10.0.0.4/30": "10.0.0.7", "0.0.0.0/0": "255.255.255.255"}
	for block, want := range tests {
		t.Run(block, func(t *testing.T) {
			if got := broadcastOf(netip.MustParsePrefix(block)).String(); got != want {
				t.Fatalf("broadcastOf(%s) = %s, want %s", block, got, want)
			}
		})
	}
}
