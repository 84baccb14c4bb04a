package cli

import (
	"github.com/spf13/cobra"
)

// upFlags are `fargo up`'s flags: the server's, with defaults for one machine.
type upFlags struct {
	serverFlags
}

func newUpCommand(streams Streams) *cobra.Command {
	var flags upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a whole fargo cluster on this machine and stay in the foreground",
		Long: `Start a whole fargo cluster on this machine: the control plane (etcd,
kube-apiserver, kube-controller-manager) with its state in --data-dir.
It stays in the foreground; Ctrl-C or SIGTERM stops it cleanly, and the
next start on the same data dir finds every object again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(streams, &flags.serverFlags)
		},
	}
	flags.register(cmd.Flags())
	return cmd
}
