package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fargo-dev/fargo/internal/componentlog"
	"github.com/fargo-dev/fargo/internal/heaptrim"
	"github.com/fargo-dev/fargo/internal/host"
	"github.com/fargo-dev/fargo/internal/version"
)

// hostFlags describe the host an agent registers; `fargo agent` and
// `fargo up` share them.
type hostFlags struct {
	host.Config
	cpu, memory, reserveCPU, reserveMemory quantityFlag
	logMaxSize, imageCacheMaxSize          quantityFlag
}

func (f *hostFlags) register(fs *pflag.FlagSet, defaultPodCIDRs []string) {
	d := host.Default()
	f.Config = d
	f.reserveCPU = quantityFlag{q: &f.ReserveCPU}
	f.reserveMemory = quantityFlag{q: &f.ReserveMemory}
	f.cpu = quantityFlag{q: &f.CPU}
	f.memory = quantityFlag{q: &f.Memory}
	fs.StringVar(&f.Name, "name", "", "name of this host (default: the machine's hostname)")
	fs.StringVar(&f.Zone, "zone", "", "zone of this host, the topology.kubernetes.io/zone of its pods (default: <region>a)")
	fs.Var(&f.cpu, "cpu", fmt.Sprintf("vCPUs this host offers pods (default: its CPUs × %d, less --reserve-cpu)", host.CPUOvercommit))
	fs.Var(&f.memory, "memory", "memory this host offers pods, like 16Gi (default: the machine's, less --reserve-memory)")
	fs.Var(&f.reserveCPU, "reserve-cpu", "CPU kept for the machine itself")
	fs.Var(&f.reserveMemory, "reserve-memory", "memory kept for the machine itself")
	fs.StringSliceVar(&f.PodCIDRs, "pod-cidr", defaultPodCIDRs, "private address blocks this host gives pods, no other host's")
	fs.StringArrayVar(&f.Tiers, "tier", d.Tiers, "sandbox tier, repeated for several (the first is the default): "+strings.Join(host.Tiers, ", "))
	fs.StringVar(&f.MicroVM.GuestKernel, "guest-kernel", "", "vmlinux microVMs boot (default: Debian's linux-image-cloud-amd64, fetched once)")
	fs.StringVar(&f.MicroVM.GuestInit, "guest-init", "", "fargo-init binary for microVM guests (default: beside this binary)")
	fs.StringVar(&f.MicroVM.Accel, "vm-accel", "auto", "how microVMs run: auto (KVM if a probe guest boots with it, else TCG), kvm or tcg")
	fs.StringVar(&f.Address, "address", "", "IP address other hosts reach this one at")
	fs.StringSliceVar(&f.RegistryMirrors, "registry-mirror", nil, "registry=URL: pull that registry's images from the mirror first, like docker.io=http://127.0.0.1:5001")
	fs.StringVar(&f.Bridge, "bridge", d.Bridge, "bridge this host's pods attach to (one per host in a network namespace)")
	fs.StringVar(&f.LogDir, "pod-log-dir", d.LogDir, "where pod logs go: pods/NS_POD_UID/ and containers/*.log links")
	f.logMaxSize = quantityFlag{q: &f.ContainerLogMaxSize}
	fs.IntVar(&f.KubeletPort, "kubelet-port", d.KubeletPort, "port this host serves its pod-nodes' kubelet API on (each pod-node's address:10250 is steered there)")
	fs.Var(&f.logMaxSize, "container-log-max-size", "size at which a container's log file is rotated, like the kubelet's containerLogMaxSize")
	fs.IntVar(&f.ContainerLogMaxFiles, "container-log-max-files", d.ContainerLogMaxFiles, "log files kept per container, the current one included")
	f.imageCacheMaxSize = quantityFlag{q: &f.ImageCacheMaxSize}
	fs.Var(&f.imageCacheMaxSize, "image-cache-max-size", "size of unpacked image layers the host keeps; unused layers go, least recently used first (0: no limit)")
	fs.DurationVar(&f.ImageCacheMaxUnused, "image-cache-max-unused", d.ImageCacheMaxUnused, "unused image layers older than this are removed (0: no limit)")
}

// agentFlags are `fargo agent`'s flags.
type agentFlags struct {
	hostFlags
	tokenFile string
	logFile   string
}

func newAgentCommand(streams Streams) *cobra.Command {
	var flags agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Join a fargo control plane as a host that runs Fargate pods",
		Long: `Join the control plane at --server with the join token that fargo server
printed (also in its <data-dir>/token), register this machine as a Host,
and serve the pod-nodes the fargate-scheduler places on it. The host's
credentials are kept in --data-dir, so a restart needs no token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgent(signalContext(), streams, &flags) },
	}
	fs := cmd.Flags()
	flags.register(fs, nil)
	fs.StringVar(&flags.Server, "server", "", "URL of the apiserver, like https://10.0.0.5:6443")
	fs.StringVar(&flags.Token, "token", "", "join token printed by fargo server")
	fs.StringVar(&flags.LocalRegistry, "local-registry", "", "host:port of a fargo registry to pull from when it holds an image's repository")
	fs.StringVar(&flags.tokenFile, "token-file", "", "file holding the join token")
	fs.StringVar(&flags.DataDir, "data-dir", flags.DataDir, "directory for the host's credentials and logs")
	fs.StringVar(&flags.logFile, "log-file", "", "file for the agent's logs (default <data-dir>/agent.log)")
	cmd.AddCommand(newAgentCleanupCommand(streams))
	return cmd
}

func newAgentCleanupCommand(streams Streams) *cobra.Command {
	dataDir, grace := host.Default().DataDir, 30*time.Second
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Stop this host's agent and every pod it runs, and remove what they set up",
		Long: `Stop the fargo agent of --data-dir if one runs, then every pod sandbox
of this host (SIGTERM, then SIGKILL after --grace), and remove the host's
bridge, routes, nftables tables, cgroups and mounts. The host's
credentials stay: the next fargo agent on --data-dir rejoins without a
token. For the host of fargo up, use fargo down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return host.Cleanup(cmd.Context(), dataDir, host.CleanupOptions{Grace: grace, Progress: streams.Out})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", dataDir, "the agent's data dir")
	cmd.Flags().DurationVar(&grace, "grace", grace, "how long each container gets between SIGTERM and SIGKILL")
	return cmd
}

func runAgent(ctx context.Context, streams Streams, f *agentFlags) error {
	go heaptrim.Run(ctx, heaptrim.Period)
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return fmt.Errorf("cannot read --token-file: %v", err)
		}
		f.Token = strings.TrimSpace(string(b))
	}
	if err := os.MkdirAll(f.DataDir, 0o700); err != nil {
		return fmt.Errorf("cannot create --data-dir %s: %v", f.DataDir, err)
	}
	logPath := f.logFile
	if logPath == "" {
		logPath = filepath.Join(f.DataDir, "agent.log")
	}
	log, err := componentlog.Redirect(logPath, "--log-file")
	if err != nil {
		return err
	}
	defer log.Close()
	cfg := f.Config
	cfg.KubernetesVersion = version.Kubernetes()
	ready := make(chan struct{})
	go func() {
		select {
		case <-ready:
			fmt.Fprintf(streams.Out, "host %s joined %s; logs in %s\n", cfg.Name, cfg.Server, logPath)
		case <-ctx.Done():
		}
	}()
	return host.Run(ctx, cfg, ready)
}
