// Package cli is fargo's command line: one binary whose verbs start the
// control plane (server, up), talk to it (kubectl) and, in later verbs, run
// hosts and manage Fargate profiles. Each verb has a flag struct and a runE.
package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fargo-dev/fargo/internal/version"
)

// Streams are the standard streams a command uses.
type Streams struct {
	In          io.Reader
	Out, ErrOut io.Writer
}

// ErrReported is returned when the command already told the user what went
// wrong; the caller only exits non-zero.
var ErrReported = errors.New("error already reported")

// Run executes the fargo command line given by args (without the program
// name) and returns its error, for main to print.
func Run(streams Streams, args []string) error {
	// Imported Kubernetes packages register flags of their own binaries
	// (such as --version=raw) on the global flag set, which cobra would
	// show on every fargo verb; fargo's verbs declare all their flags.
	pflag.CommandLine = pflag.NewFlagSet("fargo", pflag.ContinueOnError)
	// Only the long-running roles serve profiles: a short verb run beside
	// one of them (fargo image import) would find the address taken.
	if len(args) > 0 && profiledVerbs[args[0]] {
		if err := serveProfiles(); err != nil {
			return err
		}
	}
	root := newRoot(streams)
	root.SetArgs(args)
	return root.Execute()
}

func newRoot(streams Streams) *cobra.Command {
	root := &cobra.Command{
		Use:     "fargo",
		Short:   "Serverless pods for any Kubernetes: EKS Fargate behaviour on your own machines",
		Version: version.Fargo + " (Kubernetes " + version.Kubernetes() + ")",
		// Runnable so that cobra checks Args and refuses unknown verbs.
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(
		newServerCommand(streams),
		newUpCommand(streams),
		newDownCommand(streams),
		newAgentCommand(streams),
		newKubectlCommand(streams),
		newCreateCommand(streams),
		newGetCommand(streams),
		newDeleteCommand(streams),
		newImageCommand(streams),
		newRegistryCommand(streams),
		newKubeProxyCommand(streams),
	)
	return root
}

// signalContext ends on the first SIGINT or SIGTERM; a second one gets the
// default action, so an impatient Ctrl-C still ends a slow shutdown.
func signalContext() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}
