package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fargo-dev/fargo/internal/controlplane"
	"github.com/fargo-dev/fargo/internal/image"
	"github.com/fargo-dev/fargo/internal/image/registry"
	"github.com/fargo-dev/fargo/internal/pidlock"
)

// registryDirFlag is the --data-dir whose registry/ subdirectory holds the
// local registry; `fargo image` and `fargo registry` share it. Unset, it
// is found as `fargo kubectl` finds the cluster (resolveDataDir).
type registryDirFlag struct {
	dataDir string
}

func (f *registryDirFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "", "fargo's data directory, whose registry/ subdirectory is the local registry (default $"+dataDirEnv+", else "+controlplane.Default().DataDir+")")
}

func (f *registryDirFlag) layout() controlplane.Layout {
	return controlplane.Layout{Dir: resolveDataDir(f.dataDir)}
}

func (f *registryDirFlag) root() string { return f.layout().Registry() }

// localRegistry is the local registry as the image verbs use it: its
// files (registry.Dir) or the running fargo's registry (registry.Remote).
type localRegistry interface {
	Import(tarball string) ([]string, error)
	List() ([]registry.Entry, error)
	Remove(registry.Entry) error
}

// runningFargo is the fargo that holds a data dir's lock, and where it
// serves the local registry ("" when it serves none, as `fargo server`).
type runningFargo struct {
	pid      int // -1 when it has not written its pid yet
	registry string
}

// open returns the data dir's registry: through the running fargo's
// address when there is one, since writing files behind a running
// registry's back races its own writes; otherwise its files. running is
// nil when no fargo runs on the data dir.
func (f *registryDirFlag) open() (reg localRegistry, where string, running *runningFargo) {
	l := f.layout()
	running = findRunning(l)
	if running != nil && running.registry != "" {
		where = fmt.Sprintf("the local registry of the fargo running on %s (pid %d) at %s", l.Dir, running.pid, running.registry)
		return registry.Remote{Addr: running.registry}, where, running
	}
	return registry.Dir(l.Registry()), l.Registry(), running
}

// findRunning reports the fargo holding the data dir's lock, or nil; an
// address file no lock holder stands behind was left by a crash.
func findRunning(l controlplane.Layout) *runningFargo {
	pid := pidlock.Holder(l.Lock())
	if pid == 0 {
		return nil
	}
	running := &runningFargo{pid: pid}
	if b, err := os.ReadFile(l.RegistryAddressFile()); err == nil {
		if addr := strings.TrimSpace(string(b)); isHostPort(addr) {
			running.registry = addr
		}
	}
	return running
}

func isHostPort(s string) bool {
	_, _, err := net.SplitHostPort(s)
	return err == nil
}

func newImageCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the images of fargo's local registry",
		Long: `Images in fargo's local registry are pulled by pods without a network:
an imported nginx:latest is what a pod with image nginx:latest runs.
The registry is the one of --data-dir, else $` + dataDirEnv + `, else ` + controlplane.Default().DataDir + `;
while a fargo runs on that data dir, the verbs go through its registry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImageImportCommand(streams), newImageListCommand(streams), newImageRmCommand(streams))
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
	reg, where, _ := f.open()
	for _, file := range files {
		names, err := reg.Import(file)
		for _, n := range names {
			fmt.Fprintln(streams.Out, n)
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(streams.ErrOut, "Loaded into %s\n", where)
	return nil
}

// imageListFlags are `fargo image list`'s flags.
type imageListFlags struct {
	registryDirFlag
	hostCache bool
}

func newImageListCommand(streams Streams) *cobra.Command {
	var flags imageListFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the images in the local registry, or the numbers of this host's layer cache",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if flags.hostCache {
				return printHostCache(streams, flags.layout())
			}
			return runImageList(streams, &flags.registryDirFlag)
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().BoolVar(&flags.hostCache, "host-cache", false, "show this host's cache of unpacked layers instead: layers, bytes, in use, and what the collector freed")
	return cmd
}

func runImageList(streams Streams, f *registryDirFlag) error {
	reg, where, _ := f.open()
	entries, err := reg.List()
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", where, err)
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
}

// imageRmFlags are `fargo image rm`'s flags.
type imageRmFlags struct {
	registryDirFlag
	force bool
	// pods, when set, lists the cluster's pods instead of asking the
	// running cluster: tests set it.
	pods func(ctx context.Context) ([]corev1.Pod, error)
}

func newImageRmCommand(streams Streams) *cobra.Command {
	var flags imageRmFlags
	cmd := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove images from the local registry",
		Long: `Remove images from the local registry: the name (as fargo image list
prints it, or as a pod writes it: nginx is docker.io/library/nginx:latest)
and the layers no other image uses. An image a pod that has not finished
uses is kept; so is every image while the cluster cannot be asked, unless
--force.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, names []string) error {
			return runImageRm(streams, &flags, names)
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().BoolVar(&flags.force, "force", false, "remove even when the cluster cannot be asked which pods use the images (never an image a pod is known to use)")
	return cmd
}

func runImageRm(streams Streams, f *imageRmFlags, names []string) error {
	reg, where, running := f.open()
	entries, err := reg.List()
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", where, err)
	}
	targets, err := lookupAll(entries, names, where)
	if err != nil {
		return err
	}
	if err := f.checkUnused(running, entries, targets); err != nil {
		return err
	}
	for _, e := range targets {
		if err := reg.Remove(e); err != nil {
			return fmt.Errorf("removing %s from %s: %v", e.Name, where, err)
		}
		fmt.Fprintf(streams.Out, "removed %s\n", e.Name)
	}
	return nil
}

// lookupAll finds every name among the registry's entries, each once.
func lookupAll(entries []registry.Entry, names []string, where string) ([]registry.Entry, error) {
	var targets []registry.Entry
	seen := map[string]bool{}
	for _, n := range names {
		found, err := registry.Lookup(entries, n)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no image %s in %s: fargo image list shows the names it holds; load an image with fargo image import FILE", n, where)
		}
		for _, e := range found {
			if !seen[e.Name] {
				seen[e.Name] = true
				targets = append(targets, e)
			}
		}
	}
	return targets, nil
}

// checkUnused refuses when a pod that has not finished uses a target, or,
// without --force, when the cluster cannot be asked.
func (f *imageRmFlags) checkUnused(running *runningFargo, entries, targets []registry.Entry) error {
	list := f.pods
	if list == nil {
		list = func(ctx context.Context) ([]corev1.Pod, error) { return clusterPods(ctx, f.layout(), running) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := list(ctx)
	if err != nil {
		if f.force {
			return nil
		}
		return fmt.Errorf("cannot tell whether a pod uses the images: %v; start the cluster, or pass --force to remove anyway", err)
	}
	images := unfinishedPodImages(pods)
	for _, e := range targets {
		if users := registry.Users(entries, e, images); len(users) > 0 {
			return fmt.Errorf("image %s is in use by pod %s: delete those pods (or wait until they finish), then remove it", e.Name, strings.Join(users, ", "))
		}
	}
	return nil
}

// clusterPods lists every pod of the cluster running on the data dir.
func clusterPods(ctx context.Context, l controlplane.Layout, running *runningFargo) ([]corev1.Pod, error) {
	if running == nil {
		return nil, fmt.Errorf("no fargo is running on %s, so its cluster cannot be asked", l.Dir)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", l.AdminKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("cannot use %s: %v", l.AdminKubeconfig(), err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot list the pods of the cluster on %s: %v", l.Dir, apiError(err))
	}
	return list.Items, nil
}

// unfinishedPodImages maps each pod that has not finished, by
// namespace/name, to the images of its containers.
func unfinishedPodImages(pods []corev1.Pod) map[string][]string {
	out := map[string][]string{}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		var images []string
		for _, c := range p.Spec.InitContainers {
			images = append(images, c.Image)
		}
		for _, c := range p.Spec.Containers {
			images = append(images, c.Image)
		}
		for _, c := range p.Spec.EphemeralContainers {
			images = append(images, c.Image)
		}
		out[p.Namespace+"/"+p.Name] = images
	}
	return out
}

// printHostCache shows the numbers of this host's layer cache: the agent
// of `fargo up` keeps it under <data-dir>/agent, a joined host's agent
// under its own --data-dir.
func printHostCache(streams Streams, l controlplane.Layout) error {
	roots := []string{filepath.Join(l.AgentDir(), "images"), filepath.Join(l.Dir, "images")}
	stats, err := image.CacheStatus(roots[0])
	if errors.Is(err, fs.ErrNotExist) {
		stats, err = image.CacheStatus(roots[1])
	}
	if err != nil {
		return fmt.Errorf("no host image cache under %s (looked in %s): pass the --data-dir of fargo up or of fargo agent", l.Dir, strings.Join(roots, " and "))
	}
	size := func(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }
	w := tabwriter.NewWriter(streams.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "Layers:\t%d (%s)\n", stats.Layers, size(stats.Bytes))
	if stats.LastCollection.IsZero() {
		fmt.Fprintln(w, "Last collection:\tnone yet (the host agent collects every few minutes)")
		return w.Flush()
	}
	ago := time.Since(stats.LastCollection).Round(time.Second)
	fmt.Fprintf(w, "In use:\t%d (%s) at the last collection\n", stats.InUse, size(stats.InUseBytes))
	fmt.Fprintf(w, "Limits:\t%s, unused for %s\n", size(stats.Policy.MaxSize), stats.Policy.MaxUnused)
	fmt.Fprintf(w, "Last collection:\t%s (%s ago): freed %d layers (%s)\n", stats.LastCollection.Format(time.RFC3339), ago, stats.Freed, size(stats.FreedBytes))
	fmt.Fprintf(w, "Freed in total:\t%d layers (%s)\n", stats.TotalFreed, size(stats.TotalFreedBytes))
	return w.Flush()
}
