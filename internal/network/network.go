// Package network gives each pod on a host its own network namespace, address
// and veth link on a host bridge, and guards the host with an nftables table of
// fargo's own: pods reach each other and the outside (through NAT), but not the
// host's own services and not a metadata endpoint.
//
// A Network acts on the network namespace that was current when New was called
// (normally the process's own; an agent run under `ip netns exec hostN` manages
// hostN). Pod namespaces are files bind-mounted under Config.NetnsDir, the same
// layout iproute2 uses, so `ip netns exec fargo-<uid> ...` works for debugging.
package network

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"path/filepath"
	"sync"

	"github.com/vishvananda/netns"
)

// Defaults for the zero values of Config.
const (
	DefaultBridge      = "fargo0"
	DefaultNetnsDir    = "/var/run/netns"
	DefaultNetnsPrefix = "fargo-"
	DefaultMTU         = 1500
	DefaultSteeredPort = 10250
)

// maxIfNameLen is the kernel's IFNAMSIZ minus the terminating NUL.
const maxIfNameLen = 15

// Config describes a host's pod networking.
type Config struct {
	// Bridge is the host bridge name; default "fargo0".
	Bridge string
	// PodCIDRs are the host's pod address blocks (e.g. 10.42.0.0/16). The
	// bridge gets the first usable address (.1) of each as the pods' gateway.
	PodCIDRs []netip.Prefix
	// ClusterCIDRs are destinations that pod traffic reaches without NAT
	// (e.g. other hosts' pod blocks, so pods see each other's real IPs).
	// PodCIDRs are always included.
	ClusterCIDRs []netip.Prefix
	// NetnsDir is where pod netns files are bind-mounted; default "/var/run/netns".
	NetnsDir string
	// NetnsPrefix is the netns file name prefix; default "fargo-".
	NetnsPrefix string
	// MTU of the bridge and pod links; 0 means 1500.
	MTU int
	// KubeletPort, when not zero, is the host port that serves the pod-nodes'
	// kubelet API: TCP to a pod address at SteeredPort, from anywhere but
	// the pods themselves, is redirected there (see installFirewall).
	KubeletPort uint16
	// SteeredPort is the port at pod addresses that KubeletPort serves;
	// zero means 10250, the kubelet's.
	SteeredPort uint16
}

// Network manages the bridge, firewall table and pod namespaces of one host.
type Network struct {
	cfg Config
	// hostNS is the namespace that was current at New; every host-side
	// change goes there, whichever thread the caller happens to run on.
	hostNS netns.NsHandle
	// podLocks serialise Attach/Detach of one pod without serialising pods.
	podLocks [64]sync.Mutex
	// netnsDirReady records that NetnsDir has been made a shared mount.
	netnsDirMu    sync.Mutex
	netnsDirReady bool
	// guardsMu serialises firewall installs and guards their inputs.
	guardsMu sync.Mutex
	guards   guards
}

// New validates cfg and binds the Network to the caller's current network
// namespace. Close releases that binding.
func New(cfg Config) (*Network, error) {
	cfg = withDefaults(cfg)
	if err := validate(cfg); err != nil {
		return nil, err
	}
	host, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("network: open current network namespace (is /proc mounted?): %w", err)
	}
	return &Network{cfg: cfg, hostNS: host}, nil
}

// Close releases the handle on the host namespace. Pods and the bridge stay.
func (n *Network) Close() error {
	return n.hostNS.Close()
}

func withDefaults(cfg Config) Config {
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if cfg.NetnsDir == "" {
		cfg.NetnsDir = DefaultNetnsDir
	}
	if cfg.NetnsPrefix == "" {
		cfg.NetnsPrefix = DefaultNetnsPrefix
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.SteeredPort == 0 {
		cfg.SteeredPort = DefaultSteeredPort
	}
	cfg.PodCIDRs = maskAll(cfg.PodCIDRs)
	cfg.ClusterCIDRs = maskAll(cfg.ClusterCIDRs)
	return cfg
}

func maskAll(prefixes []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, p.Masked())
	}
	return out
}

func validate(cfg Config) error {
	if len(cfg.Bridge) > maxIfNameLen {
		return fmt.Errorf("network: bridge name %q is longer than %d characters; choose a shorter Config.Bridge", cfg.Bridge, maxIfNameLen)
	}
	if !filepath.IsAbs(cfg.NetnsDir) {
		return fmt.Errorf("network: NetnsDir %q must be an absolute path", cfg.NetnsDir)
	}
	if filepath.Base(cfg.NetnsPrefix) != cfg.NetnsPrefix {
		return fmt.Errorf("network: NetnsPrefix %q must not contain '/'", cfg.NetnsPrefix)
	}
	if cfg.MTU < 576 || cfg.MTU > 65535 {
		return fmt.Errorf("network: MTU %d out of range; use 576..65535 or 0 for 1500", cfg.MTU)
	}
	if len(cfg.PodCIDRs) == 0 {
		return errors.New("network: no PodCIDRs; give the host at least one IPv4 pod block such as 10.42.0.0/24")
	}
	if err := validateBlocks(cfg.PodCIDRs); err != nil {
		return err
	}
	for _, p := range cfg.ClusterCIDRs {
		if !p.IsValid() || !p.Addr().Is4() {
			return fmt.Errorf("network: cluster CIDR %v is not an IPv4 prefix; IPv6 is not supported yet", p)
		}
	}
	return nil
}

func validateBlocks(blocks []netip.Prefix) error {
	for i, p := range blocks {
		switch {
		case !p.IsValid():
			return fmt.Errorf("network: pod CIDR #%d is not a valid prefix", i)
		case !p.Addr().Is4():
			return fmt.Errorf("network: pod CIDR %v is IPv6, which is not supported yet; use IPv4 blocks", p)
		case p.Bits() > 30:
			return fmt.Errorf("network: pod CIDR %v is too small for a gateway and pods; use /30 or larger", p)
		}
		for _, q := range blocks[:i] {
			if p.Overlaps(q) {
				return fmt.Errorf("network: pod CIDRs %v and %v overlap; give each block once", q, p)
			}
		}
	}
	return nil
}

// Gateway returns the gateway (the bridge's address) of the pod block that
// holds ip, and false if ip is in none of the host's blocks.
func (n *Network) Gateway(ip netip.Addr) (netip.Addr, bool) {
	block, ok := n.blockOf(ip)
	if !ok {
		return netip.Addr{}, false
	}
	return gatewayOf(block), true
}

func (n *Network) blockOf(ip netip.Addr) (netip.Prefix, bool) {
	for _, p := range n.cfg.PodCIDRs {
		if p.Contains(ip) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// gatewayOf is the first usable address of a (masked) block.
func gatewayOf(block netip.Prefix) netip.Addr {
	return block.Addr().Next()
}

// broadcastOf is the last address of an IPv4 block.
func broadcastOf(block netip.Prefix) netip.Addr {
	b := block.Addr().As4()
	host := uint32(1)<<(32-block.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// podLock returns the mutex guarding one pod's namespace and links.
func (n *Network) podLock(podUID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(podUID))
	return &n.podLocks[h.Sum32()%uint32(len(n.podLocks))]
}

// noMasquerade lists the destinations pods reach with their own address:
// pods here and on the other hosts.
func (n *Network) noMasquerade() []netip.Prefix {
	out := append(append([]netip.Prefix{}, n.cfg.PodCIDRs...), n.cfg.ClusterCIDRs...)
	return append(out, n.guards.podBlocks...)
}
