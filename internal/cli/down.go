package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/host"
	"github.com/fargo-dev/fargo/internal/pidlock"
	"github.com/fargo-dev/fargo/internal/sandbox/oci"
)

// serverStopTimeout is how long a running fargo up gets to stop on
// SIGTERM: its components' own shutdown limit, and some.
const serverStopTimeout = 90 * time.Second

// downFlags are `fargo down`'s flags.
type downFlags struct {
	dataDir string
	grace   time.Duration
	purge   bool
}

func newDownCommand(streams Streams) *cobra.Command {
	var flags downFlags
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop this machine's fargo and every pod it runs, and remove what they set up",
		Long: `Stop the fargo up (or fargo server) of --data-dir if one runs, then every
pod sandbox of its host (SIGTERM, then SIGKILL after --grace), and remove
the host's bridge, routes, nftables tables, cgroups and mounts. Ctrl-C of
fargo up leaves the pods running, so that the next start adopts them;
fargo down is how to stop everything. The data dir stays usable: the next
fargo up finds every object, and controllers recreate their pods.
--purge also deletes the data dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDown(cmd.Context(), streams, flags) },
	}
	cmd.Flags().StringVar(&flags.dataDir, "data-dir", dataDirDefault(), "data dir of the fargo to stop (default $"+dataDirEnv+", else "+controlplane.Default().DataDir+")")
	cmd.Flags().DurationVar(&flags.grace, "grace", 30*time.Second, "how long each container gets between SIGTERM and SIGKILL")
	cmd.Flags().BoolVar(&flags.purge, "purge", false, "also delete the data dir: the cluster and its objects are gone")
	return cmd
}

func runDown(ctx context.Context, streams Streams, f downFlags) error {
	if _, err := os.Stat(f.dataDir); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no data dir %s: pass the --data-dir fargo up ran with", f.dataDir)
	}
	layout := controlplane.Layout{Dir: f.dataDir}
	pid, err := pidlock.Stop(layout.Lock(), serverStopTimeout)
	if err != nil {
		return err
	}
	if pid > 0 {
		fmt.Fprintf(streams.Out, "stopped fargo (pid %d) on %s\n", pid, f.dataDir)
	} else {
		fmt.Fprintf(streams.Out, "no fargo running on %s\n", f.dataDir)
	}
	// Held until done, so no fargo up starts on a half-removed host.
	lock, err := pidlock.Acquire(layout.Lock())
	if err != nil {
		return fmt.Errorf("cannot stop fargo on %s: %w", f.dataDir, err)
	}
	defer lock.Release()
	if err := host.Cleanup(ctx, layout.AgentDir(), host.CleanupOptions{Grace: f.grace, Progress: streams.Out}); err != nil {
		return err
	}
	if !f.purge {
		fmt.Fprintf(streams.Out, "fargo is down; %s keeps the cluster: fargo up --data-dir %s starts it again\n", f.dataDir, f.dataDir)
		return nil
	}
	if err := oci.UnmountUnder(f.dataDir); err != nil {
		return err
	}
	if err := os.RemoveAll(f.dataDir); err != nil {
		return fmt.Errorf("removing %s: %w", f.dataDir, err)
	}
	fmt.Fprintf(streams.Out, "fargo is down; removed %s\n", f.dataDir)
	return nil
}

// dataDirDefault is the data dir a verb uses without --data-dir:
// $FARGO_DATA_DIR, else the default.
func dataDirDefault() string {
	if dir := os.Getenv(dataDirEnv); dir != "" {
		return dir
	}
	return controlplane.Default().DataDir
}
