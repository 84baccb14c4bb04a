package clusterdns

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Corefile is the CoreDNS configuration fargo serves, kubeadm's default
// with the addresses and ports of this server: the cluster domain and
// reverse zones from the kubernetes plugin, everything else forwarded.
func Corefile(cfg Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n", cfg.Port)
	fmt.Fprintf(&b, "    bind %s 127.0.0.1\n", cfg.Address)
	b.WriteString("    errors\n")
	fmt.Fprintf(&b, "    health 127.0.0.1:%d\n", cfg.HealthPort)
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n", cfg.ReadyPort)
	fmt.Fprintf(&b, "    kubernetes %s in-addr.arpa ip6.arpa {\n", cfg.Domain)
	fmt.Fprintf(&b, "        kubeconfig %s fargo\n", cfg.Kubeconfig)
	b.WriteString("        pods insecure\n")
	b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n")
	b.WriteString("        ttl 30\n")
	b.WriteString("    }\n")
	fmt.Fprintf(&b, "    forward . %s\n", strings.Join(cfg.Upstreams, " "))
	b.WriteString("    cache 30\n")
	b.WriteString("}\n")
	return b.String()
}

// ValidateUpstream accepts what CoreDNS's forward plugin does and fargo
// offers: a resolv.conf file, or an IP address with an optional port.
func ValidateUpstream(s string) error {
	if strings.HasPrefix(s, "/") {
		if _, err := os.Stat(s); err != nil {
			return fmt.Errorf("--dns-upstream %s: %v: give a resolv.conf file that exists, or a resolver's IP[:port]", s, err)
		}
		return nil
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if _, err := netip.ParseAddrPort(s); err == nil {
		return nil
	}
	return fmt.Errorf("--dns-upstream %q is neither a resolv.conf path nor an IP[:port] (examples: /etc/resolv.conf, 1.1.1.1, 127.0.0.1:5353)", s)
}
