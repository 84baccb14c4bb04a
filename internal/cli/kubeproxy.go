package cli

import (
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/fargo-dev/fargo/internal/serviceproxy"
)

// kubeProxyFlags are the hidden `fargo kube-proxy` verb's: the host agent
// runs it as its own process (internal/serviceproxy).
type kubeProxyFlags struct {
	serviceproxy.Options
	nodeIP string
}

func newKubeProxyCommand(streams Streams) *cobra.Command {
	var f kubeProxyFlags
	cmd := &cobra.Command{
		Use:    serviceproxy.Command,
		Short:  "Run upstream kube-proxy (nftables mode) for this host; the host agent starts it",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.nodeIP != "" {
				ip, err := netip.ParseAddr(f.nodeIP)
				if err != nil {
					return err
				}
				f.NodeIP = ip
			}
			return serviceproxy.Serve(signalContext(), f.Options)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "the host's kubeconfig")
	fs.StringVar(&f.HostName, "hostname", "", "the host's name")
	fs.StringVar(&f.Bridge, "bridge", "fargo0", "the pods' bridge")
	fs.StringVar(&f.nodeIP, "node-ip", "", "the host's address")
	fs.StringVar(&f.MetricsAddress, "metrics-bind-address", "", "where to serve /metrics and /healthz (empty: nowhere)")
	for _, name := range []string{"kubeconfig", "hostname"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
