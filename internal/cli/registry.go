package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fargo-dev/fargo/internal/image/registry"
)

// registryFlags are `fargo registry`'s flags.
type registryFlags struct {
	registryDirFlag
	address string
}

func newRegistryCommand(streams Streams) *cobra.Command {
	var flags registryFlags
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Serve fargo's local image registry",
		Long: `Serve the local registry (the OCI distribution API) from <data-dir>/registry
until interrupted. Push to it with any registry client (crane push IMAGE
127.0.0.1:5000/NAME:TAG) or load tarballs with fargo image import; hosts
given it as their local registry pull from it before the internet.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return registry.Serve(signalContext(), flags.root(), flags.address, func(addr string) {
				fmt.Fprintf(streams.Out, "local registry serving %s on %s\n", flags.root(), addr)
			})
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVar(&flags.address, "address", "127.0.0.1:5000", "address to listen on; keep it on loopback, the registry has no authentication")
	return cmd
}
