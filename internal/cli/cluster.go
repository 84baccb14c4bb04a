package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/eksctl"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/profileclient"
	"github.com/fargo-dev/fargo/internal/version"
)

// createClusterFlags are the flags of `fargo create cluster`.
type createClusterFlags struct {
	conn *clientFlags
	waitFlags
	file string
}

func createClusterCommand(streams Streams, conn *clientFlags) *cobra.Command {
	flags := createClusterFlags{conn: conn}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create the Fargate profiles of an eksctl ClusterConfig file",
		Long: `Read an eksctl ClusterConfig (apiVersion eksctl.io/v1alpha5) and create its
fargateProfiles, one after the other, each waited for until ACTIVE.

fargo serves one cluster per control plane: the profiles go to the cluster
the kubeconfig points at, and metadata.name is stored in each profile as its
cluster name. Nothing is created unless the whole file is valid. A profile
that already exists with the same spec is skipped; one that exists with a
different spec is an error, since profiles are immutable.`,
		Example: "  fargo create cluster -f cluster.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCreateCluster(signalContext(), streams, &flags)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&flags.file, "config-file", "f", "", "eksctl ClusterConfig file")
	flags.waitFlags.register(fs, true)
	conn.register(fs)
	_ = cmd.MarkFlagRequired("config-file")
	return cmd
}

func runCreateCluster(ctx context.Context, streams Streams, f *createClusterFlags) error {
	cfg, err := eksctl.Load(f.file)
	if err != nil {
		return err
	}
	reportCluster(streams.Out, f.file, cfg)
	profiles := cfg.Profiles()
	if len(profiles) == 0 {
		fmt.Fprintf(streams.Out, "%s has no fargateProfiles: nothing to create\n", f.file)
		return nil
	}
	client, err := f.conn.connect(ctx, streams.ErrOut)
	if err != nil {
		return err
	}
	steps, err := plan(ctx, client, profiles)
	if err != nil {
		return err
	}
	created := 0
	for _, s := range steps {
		if err := s.run(ctx, streams, client, f.waitFlags); err != nil {
			return err
		}
		if !s.exists {
			created++
		}
	}
	fmt.Fprintf(streams.Out, "cluster %q: %s created, %d already existed\n", cfg.Metadata.Name, plural(created, "Fargate profile"), len(steps)-created)
	return nil
}

// reportCluster says what was read, and that it does not pick the cluster.
func reportCluster(w io.Writer, file string, cfg *eksctl.ClusterConfig) {
	var details []string
	if r := cfg.Metadata.Region; r != "" {
		details = append(details, "region "+r)
	}
	if v := cfg.Metadata.Version; v != "" {
		details = append(details, "Kubernetes "+v)
	}
	if cfg.VPC != nil && cfg.VPC.CIDR != "" {
		details = append(details, "VPC "+cfg.VPC.CIDR)
	}
	line := fmt.Sprintf("using cluster %q from %s", cfg.Metadata.Name, file)
	if len(details) > 0 {
		line += " (" + strings.Join(details, ", ") + ")"
	}
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, "fargo serves one cluster per control plane: the Fargate profiles go to the cluster the kubeconfig points at")
	if want, have := majorMinor(cfg.Metadata.Version), majorMinor(version.Kubernetes()); want != "" && have != "" && want != have {
		fmt.Fprintf(w, "note: %s asks for Kubernetes %s; this fargo runs Kubernetes %s\n", file, cfg.Metadata.Version, version.Kubernetes())
	}
}

// majorMinor returns "1.36" for "1.36", "v1.36.3" or "1.36.0", else "".
func majorMinor(v string) string {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// step is one profile of the file: to create, or there already.
type step struct {
	profile v1.FargateProfile
	exists  bool
}

// plan compares the file's profiles with the cluster's before creating
// anything, so that a conflict in the last profile does not leave the
// file half applied.
func plan(ctx context.Context, client *profileclient.Client, profiles []v1.FargateProfile) ([]step, error) {
	items, _, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err)
	}
	existing := map[string]*v1.FargateProfile{}
	for i := range items {
		existing[items[i].Name] = &items[i]
	}
	var steps []step
	var conflicts []string
	for _, p := range profiles {
		old, found := existing[p.Name]
		if !found {
			steps = append(steps, step{profile: p})
			continue
		}
		switch diff := specDiff(&old.Spec, &p.Spec); {
		case profile.IsDeleting(old):
			conflicts = append(conflicts, fmt.Sprintf("Fargate profile %q is being deleted: run this again once it is gone", p.Name))
		case len(diff) > 0:
			conflicts = append(conflicts, fmt.Sprintf(
				"Fargate profile %q already exists with a different %s: profiles are immutable, so delete it first (fargo delete fargateprofile --cluster %s --name %s --wait) or rename it",
				p.Name, strings.Join(diff, ", "), p.Spec.ClusterName, p.Name))
		default:
			steps = append(steps, step{profile: p, exists: true})
		}
	}
	if len(conflicts) > 0 {
		return nil, errors.New(strings.Join(conflicts, "\n"))
	}
	return steps, nil
}

// specDiff names the fields in which two specs differ. Nil and empty are
// the same; a cluster name counts only when both have one, as --cluster is
// informational and kubectl-made profiles have none.
func specDiff(a, b *v1.FargateProfileSpec) []string {
	fields := []struct {
		name string
		a, b any
	}{
		{"selectors", a.Selectors, b.Selectors},
		{"subnets", a.Subnets, b.Subnets},
		{"podExecutionRoleARN", a.PodExecutionRoleARN, b.PodExecutionRoleARN},
		{"tags", a.Tags, b.Tags},
	}
	var diff []string
	for _, f := range fields {
		if !equality.Semantic.DeepEqual(f.a, f.b) {
			diff = append(diff, f.name)
		}
	}
	if a.ClusterName != "" && b.ClusterName != "" && a.ClusterName != b.ClusterName {
		diff = append(diff, "clusterName")
	}
	return diff
}

func (s step) run(ctx context.Context, streams Streams, client *profileclient.Client, w waitFlags) error {
	p := s.profile
	if !s.exists {
		return createAndWait(ctx, streams, client, &p, w)
	}
	fmt.Fprintf(streams.Out, "Fargate profile %q already exists with the same spec: skipping\n", p.Name)
	if !w.wait {
		return nil
	}
	// It may still be CREATING from an earlier, interrupted run.
	return waitActive(ctx, client, p.Name, w.timeout)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
