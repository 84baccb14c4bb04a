package cli

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectl "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"

	"github.com/fargo-dev/fargo/internal/controlplane"
)

// dataDirEnv names the data dir for commands that use a running fargo's
// files rather than run one: `fargo kubectl` (whose flags all belong to
// kubectl) and the image verbs.
const dataDirEnv = "FARGO_DATA_DIR"

// resolveDataDir is the data dir such a command means: its --data-dir
// flag when given, else $FARGO_DATA_DIR, else the default.
func resolveDataDir(flag string) string {
	if flag != "" {
		return flag
	}
	if dir := os.Getenv(dataDirEnv); dir != "" {
		return dir
	}
	return controlplane.Default().DataDir
}

func newKubectlCommand(streams Streams) *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl [kubectl arguments]",
		Short:              "Run the embedded upstream kubectl against this fargo cluster",
		Long:               "Run the embedded upstream kubectl. Without --kubeconfig or $KUBECONFIG it uses the admin kubeconfig of $" + dataDirEnv + " (default " + controlplane.Default().DataDir + ").",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubectl(streams, args)
		},
	}
}

func runKubectl(streams Streams, args []string) error {
	io := genericiooptions.IOStreams{In: streams.In, Out: streams.Out, ErrOut: streams.ErrOut}
	config := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag().
		WithDiscoveryBurst(300).WithDiscoveryQPS(50.0).WithWarningPrinter(io)
	if os.Getenv("KUBECONFIG") == "" {
		path := defaultKubeconfig()
		config.KubeConfig = &path
	}
	cmd := kubectl.NewDefaultKubectlCommandWithArgs(kubectl.KubectlOptions{
		PluginHandler: kubectl.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
		Arguments:     append([]string{"kubectl"}, args...),
		ConfigFlags:   config,
		IOStreams:     io,
	})
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		// kubectl has printed the error in its own words already.
		return ErrReported
	}
	return nil
}

func defaultKubeconfig() string {
	return controlplane.Layout{Dir: resolveDataDir("")}.AdminKubeconfig()
}
