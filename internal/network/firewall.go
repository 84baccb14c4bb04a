package network

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table (family ip) of the host whose pods use
// bridge: one per bridge, so that two hosts sharing a network namespace
// keep their own rules. fargo owns it entirely and touches no other table.
func TableName(bridge string) string { return "fargo-" + bridge }

// metadataAddr is the cloud metadata endpoint pods must never reach.
var metadataAddr = netip.MustParseAddr("169.254.169.254")

// Conntrack bits, from linux/netfilter/nf_conntrack_common.h.
const (
	ctStateEstablishedRelated = expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	ctStatusDstNAT            = 1 << 5 // IPS_DST_NAT
)

// Offsets in the IPv4 header and ICMP header.
const (
	ipv4SrcOffset   = 12
	ipv4DstOffset   = 16
	icmpEchoRequest = 8
)

// installFirewall replaces fargo's table in one transaction: the old rules
// stay in force until the new ones are committed, and a repeat is harmless.
//
// The rules, in nft terms (br = the bridge, pods = PodCIDRs):
//
//	input:       iifname br ct state established,related accept
//	             iifname br ct status dnat ip daddr . l4proto . th dport == <host service> accept
//	             iifname br ip daddr <gw> icmp type echo-request accept
//	             iifname br drop                       # no route to host services
//	forward:     iifname br ip daddr 169.254.169.254 drop
//	             iifname br oifname br accept          # pod to pod
//	             iifname br ct state established,related accept
//	             iifname br ct status dnat ip daddr . l4proto . th dport == <host service> accept
//	             iifname br ip daddr <other host> drop # nor to other hosts' services
//	postrouting: ip saddr pods ip daddr pods|cluster|other hosts' pods accept
//	             ip saddr pods masquerade              # NAT to the outside
//	prerouting:  iifname != br ip daddr pods tcp dport 10250 redirect to :KubeletPort
//	output:      ip daddr pods tcp dport 10250 redirect to :KubeletPort
//
// The last two (with Config.KubeletPort) make each pod-node's kubelet API
// answer at its own address, as a kubelet's does, while the host agent
// serves them all: the pod's IP may live in a netns or in a VM, and the
// agent tells the pod-nodes apart by the original destination. Pods
// themselves keep the port: their own traffic is not redirected.
//
// Host services and other hosts come from SetHostServices and
// SetOtherHosts: pods reach the apiserver and cluster DNS only through
// their Service addresses, which kube-proxy translates before these rules.
func (n *Network) installFirewall() error {
	n.guardsMu.Lock()
	defer n.guardsMu.Unlock()
	return n.installFirewallLocked()
}

func (n *Network) installFirewallLocked() error {
	c, err := nftables.New(nftables.WithNetNSFd(int(n.hostNS)))
	if err != nil {
		return fmt.Errorf("network: open nftables: %w", err)
	}
	table := &nftables.Table{Name: TableName(n.cfg.Bridge), Family: nftables.TableFamilyIPv4}
	// Add-then-delete makes the delete succeed whether or not the table existed.
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	n.addInputChain(c, table)
	n.addForwardChain(c, table)
	n.addPostroutingChain(c, table)
	n.addKubeletRedirect(c, table)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network: install nftables table %q (kernel needs nf_tables and nft_masq): %w", table.Name, err)
	}
	return nil
}

// removeFirewall deletes fargo's table if it exists.
func (n *Network) removeFirewall() error {
	c, err := nftables.New(nftables.WithNetNSFd(int(n.hostNS)))
	if err != nil {
		return fmt.Errorf("network: open nftables: %w", err)
	}
	table := &nftables.Table{Name: TableName(n.cfg.Bridge), Family: nftables.TableFamilyIPv4}
	c.AddTable(table)
	c.DelTable(table)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network: delete nftables table %q: %w", table.Name, err)
	}
	return nil
}

func (n *Network) addInputChain(c *nftables.Conn, t *nftables.Table) {
	ch := c.AddChain(filterChain(t, "input", nftables.ChainHookInput))
	fromPods := ifaceIs(expr.MetaKeyIIFNAME, n.cfg.Bridge)
	c.AddRule(rule(t, ch, fromPods, ctBitsSet(expr.CtKeySTATE, ctStateEstablishedRelated), verdict(expr.VerdictAccept)))
	n.acceptHostServices(c, t, ch)
	for _, block := range n.cfg.PodCIDRs {
		c.AddRule(rule(t, ch, fromPods, addrIs(ipv4DstOffset, gatewayOf(block)), icmpEcho(), verdict(expr.VerdictAccept)))
	}
	c.AddRule(rule(t, ch, fromPods, verdict(expr.VerdictDrop)))
}

func (n *Network) addForwardChain(c *nftables.Conn, t *nftables.Table) {
	ch := c.AddChain(filterChain(t, "forward", nftables.ChainHookForward))
	fromPods := ifaceIs(expr.MetaKeyIIFNAME, n.cfg.Bridge)
	c.AddRule(rule(t, ch, fromPods, addrIs(ipv4DstOffset, metadataAddr), verdict(expr.VerdictDrop)))
	c.AddRule(rule(t, ch, fromPods, ifaceIs(expr.MetaKeyOIFNAME, n.cfg.Bridge), verdict(expr.VerdictAccept)))
	// Replies: a host may call a pod (the apiserver a pod-node's kubelet
	// API, a load balancer's client through another host).
	c.AddRule(rule(t, ch, fromPods, ctBitsSet(expr.CtKeySTATE, ctStateEstablishedRelated), verdict(expr.VerdictAccept)))
	n.acceptHostServices(c, t, ch)
	for _, host := range n.guards.hosts {
		c.AddRule(rule(t, ch, fromPods, addrIs(ipv4DstOffset, host), verdict(expr.VerdictDrop)))
	}
}

// acceptHostServices accepts pod traffic that a Service translated to one
// of the host services (the kubernetes Service's apiserver, kube-dns).
func (n *Network) acceptHostServices(c *nftables.Conn, t *nftables.Table, ch *nftables.Chain) {
	fromPods := ifaceIs(expr.MetaKeyIIFNAME, n.cfg.Bridge)
	translated := ctBitsSet(expr.CtKeySTATUS, ctStatusDstNAT)
	for _, s := range n.guards.services {
		if !s.Addr.Is4() {
			continue
		}
		c.AddRule(rule(t, ch, fromPods, translated, addrIs(ipv4DstOffset, s.Addr), l4Dport(s.Proto, s.Port), verdict(expr.VerdictAccept)))
	}
}

func (n *Network) addPostroutingChain(c *nftables.Conn, t *nftables.Table) {
	ch := c.AddChain(&nftables.Chain{
		Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	for _, src := range n.cfg.PodCIDRs {
		for _, dst := range n.noMasquerade() {
			c.AddRule(rule(t, ch, prefixIs(ipv4SrcOffset, src), prefixIs(ipv4DstOffset, dst), verdict(expr.VerdictAccept)))
		}
		c.AddRule(rule(t, ch, prefixIs(ipv4SrcOffset, src), []expr.Any{&expr.Masq{}}))
	}
}

func (n *Network) addKubeletRedirect(c *nftables.Conn, t *nftables.Table) {
	if n.cfg.KubeletPort == 0 {
		return
	}
	pre := c.AddChain(natChain(t, "prerouting", nftables.ChainHookPrerouting))
	out := c.AddChain(natChain(t, "output", nftables.ChainHookOutput))
	notFromPods := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte(n.cfg.Bridge + "\x00")},
	}
	for _, block := range n.cfg.PodCIDRs {
		match := append(prefixIs(ipv4DstOffset, block), tcpDport(n.cfg.SteeredPort)...)
		c.AddRule(rule(t, pre, notFromPods, match, redirectTo(n.cfg.KubeletPort)))
		c.AddRule(rule(t, out, match, redirectTo(n.cfg.KubeletPort)))
	}
}

func natChain(t *nftables.Table, name string, hook *nftables.ChainHook) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: nftables.ChainPriorityNATDest}
}

// tcpDport matches TCP packets to port.
func tcpDport(port uint16) []expr.Any { return l4Dport(unix.IPPROTO_TCP, port) }

// l4Dport matches TCP or UDP packets (proto) to port.
func l4Dport(proto uint8, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// redirectTo sends the packet to this host's own port.
func redirectTo(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Redir{RegisterProtoMin: 1},
	}
}

func filterChain(t *nftables.Table, name string, hook *nftables.ChainHook) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name: name, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	}
}

// rule joins match/statement fragments into one rule.
func rule(t *nftables.Table, ch *nftables.Chain, parts ...[]expr.Any) *nftables.Rule {
	var exprs []expr.Any
	for _, p := range parts {
		exprs = append(exprs, p...)
	}
	return &nftables.Rule{Table: t, Chain: ch, Exprs: exprs}
}

func verdict(kind expr.VerdictKind) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: kind}}
}

// ifaceIs matches the input or output interface name exactly.
func ifaceIs(key expr.MetaKey, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(name + "\x00")},
	}
}

// ctBitsSet matches when any of bits is set in the conntrack state or status.
func ctBitsSet(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: key, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// addrIs matches the IPv4 source or destination address at offset.
func addrIs(offset uint32, ip netip.Addr) []expr.Any {
	a := ip.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

// prefixIs matches the IPv4 source or destination address against a block.
func prefixIs(offset uint32, p netip.Prefix) []expr.Any {
	netAddr := p.Masked().Addr().As4()
	mask := ipNet(p).Mask
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: netAddr[:]},
	}
}

// icmpEcho matches ICMP echo requests (ping).
func icmpEcho() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{icmpEchoRequest}},
	}
}
