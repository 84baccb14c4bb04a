package cli

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/image/registry"
)

// registryDirFlag is the --data-dir whose registry/ subdirectory holds the
// local registry; `fargo image` and `fargo registry` share it.
type registryDirFlag struct {
	dataDir string
}

func (f *registryDirFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", controlplane.Default().DataDir, "fargo's data directory; the local registry is its registry/ subdirectory")
}

func (f *registryDirFlag) root() string { return filepath.Join(f.dataDir, "registry") }

func newImageCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the images of fargo's local registry",
		Long: `Images in fargo's local registry are pulled by pods without a network:
an imported nginx:latest is what a pod with image nginx:latest runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImageImportCommand(streams), newImageListCommand(streams))
	return cmd
}

func newImageImportCommand(streams Streams) *cobra.Command {
	var flags registryDirFlag
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Load docker save or OCI-layout tarballs into the local registry",
		Long: `Load images saved with docker save (or podman save, ctr export, skopeo copy
to oci-archive) into the local registry, under the names recorded in each
tarball, and print those names. A running fargo serves them at once.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			return runImageImport(streams, &flags, files)
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

func runImageImport(streams Streams, f *registryDirFlag, files []string) error {
	for _, file := range files {
		names, err := registry.Import(f.root(), file)
		for _, n := range names {
			fmt.Fprintln(streams.Out, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func newImageListCommand(streams Streams) *cobra.Command {
	var flags registryDirFlag
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the images in the local registry",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			entries, err := registry.List(flags.root())
			if err != nil {
				return fmt.Errorf("cannot read the local registry in %s: %v", flags.root(), err)
			}
			if len(entries) == 0 {
				fmt.Fprintln(streams.ErrOut, "No images: load some with fargo image import FILE")
				return nil
			}
			w := tabwriter.NewWriter(streams.Out, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tDIGEST\tSIZE")
			for _, e := range entries {
				fmt.Fprintf(w, "%s\t%s\t%s\n", e.Name, e.Digest, resource.NewQuantity(e.Size, resource.BinarySI))
			}
			return w.Flush()
		},
	}
	flags.register(cmd.Flags())
	return cmd
}
