package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/heaptrim"
	"github.com/fargo-dev/fargo/internal/host"
	"github.com/fargo-dev/fargo/internal/image/registry"
	"github.com/fargo-dev/fargo/internal/version"
)

// upFlags are `fargo up`'s flags: the server's, and those of the host
// agent it runs for this machine.
type upFlags struct {
	serverFlags
	host            hostFlags
	registryAddress string
}

// upPodCIDR is the block of the machine's own host under `fargo up`.
const upPodCIDR = "10.42.0.0/16"

func newUpCommand(streams Streams) *cobra.Command {
	var flags upFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a whole fargo cluster on this machine and stay in the foreground",
		Long: `Start a whole fargo cluster on this machine: the control plane (etcd,
kube-apiserver, kube-controller-manager, fargo's admission and
fargate-scheduler) with its state in --data-dir, and a host agent that
joins it, so that Fargate pods have a host to run on. It stays in the
foreground; Ctrl-C or SIGTERM stops it cleanly, and the next start on the
same data dir finds every object again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUp(signalContext(), streams, &flags)
		},
	}
	flags.serverFlags.register(cmd.Flags())
	flags.host.register(cmd.Flags(), []string{upPodCIDR})
	cmd.Flags().StringVar(&flags.registryAddress, "registry-address", "127.0.0.1:5000",
		"where the local registry (<data-dir>/registry, filled by fargo image import) listens; keep it on loopback")
	return cmd
}

// runUp runs the control plane and this machine's host agent side by
// side: the control plane hands the agent its join information and waits
// for the agent's host before it reports ready. On a signal the agent
// stops first, while the apiserver still serves it; if either fails, the
// other stops too.
func runUp(signals context.Context, streams Streams, f *upFlags) error {
	joins := make(chan controlplane.Join, 1)
	hostReady := make(chan struct{})
	cfg := f.Config
	cfg.Progress = streams.Out
	cfg.Joins = joins
	cfg.Await = []controlplane.Part{{Name: "host agent", Ready: hostReady}}

	agentCtx, stopAgent := context.WithCancel(signals)
	defer stopAgent()
	serverCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	go heaptrim.Run(serverCtx, heaptrim.Period)
	serverErr := make(chan error, 1)
	go func() {
		err := controlplane.Run(serverCtx, cfg)
		stopAgent()
		serverErr <- err
	}()

	var agentErr error
	select {
	case join := <-joins:
		if agentErr = f.runAgent(agentCtx, join, hostReady); agentErr != nil && agentCtx.Err() == nil {
			agentErr = fmt.Errorf("host agent stopped: %w", agentErr)
		} else {
			agentErr = nil
		}
	case <-agentCtx.Done():
	}
	stopServer()
	return errors.Join(<-serverErr, agentErr)
}

// runAgent runs this machine's host agent in-process, joined like any
// other host, with its credentials under the server's data dir.
func (f *upFlags) runAgent(ctx context.Context, join controlplane.Join, ready chan<- struct{}) error {
	local, err := f.serveRegistry(ctx)
	if err != nil {
		return err
	}
	cfg := f.host.Config
	cfg.LocalRegistry = local
	if cfg.Address == "" {
		// Load balancers and other hosts reach this one where the
		// apiserver is advertised.
		cfg.Address = f.AdvertiseAddress
	}
	cfg.Server = join.Server
	cfg.Token = join.Token
	cfg.DataDir = controlplane.Layout{Dir: f.DataDir}.AgentDir()
	cfg.KubernetesVersion = version.Kubernetes()
	return host.Run(ctx, cfg, ready)
}

// serveRegistry starts the local registry next to the agent and returns
// its address once it listens. The address is also written to the data
// dir, where `fargo image` finds it to push through the registry, and
// removed when the registry stops.
func (f *upFlags) serveRegistry(ctx context.Context) (string, error) {
	addr := make(chan string, 1)
	errs := make(chan error, 1)
	layout := controlplane.Layout{Dir: f.DataDir}
	file := layout.RegistryAddressFile()
	go func() {
		var written string
		err := registry.Serve(ctx, layout.Registry(), f.registryAddress, func(a string) {
			// The file is only a hint: `fargo image` believes it while this
			// process holds the data dir's lock, and otherwise uses the files.
			if os.WriteFile(file, []byte(a+"\n"), 0o600) == nil {
				written = a
			}
			addr <- a
		})
		// Not one a later fargo on this dir wrote after our lock went.
		if b, rerr := os.ReadFile(file); rerr == nil && written != "" && strings.TrimSpace(string(b)) == written {
			os.Remove(file)
		}
		errs <- err
	}()
	select {
	case a := <-addr:
		return a, nil
	case err := <-errs:
		return "", fmt.Errorf("local registry on %s: %w (pass --registry-address with a free port)", f.registryAddress, err)
	}
}
