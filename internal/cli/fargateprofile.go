package cli

// The eksctl-style verbs: create, get and delete fargateprofile, and create
// cluster (cluster.go). They talk to the cluster through internal/profileclient
// and print eksctl's shapes through internal/eksctl.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/eksctl"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/profileclient"
)

var fargateProfileAliases = []string{"fargateprofiles", "fp"}

func newCreateCommand(streams Streams) *cobra.Command { return createCommand(streams, &clientFlags{}) }
func newGetCommand(streams Streams) *cobra.Command    { return getCommand(streams, &clientFlags{}) }
func newDeleteCommand(streams Streams) *cobra.Command { return deleteCommand(streams, &clientFlags{}) }

// parentCommand is a verb that only groups subcommands. It is runnable so
// that cobra refuses unknown subcommands instead of printing help.
func parentCommand(use, short string, children ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(children...)
	return cmd
}

// createCommand and its siblings take the connection flags so that tests
// can hand in a client on a fake.
func createCommand(streams Streams, conn *clientFlags) *cobra.Command {
	return parentCommand("create", "Create Fargate profiles, or the profiles of an eksctl ClusterConfig",
		createFargateProfileCommand(streams, conn), createClusterCommand(streams, conn))
}

func getCommand(streams Streams, conn *clientFlags) *cobra.Command {
	return parentCommand("get", "Show Fargate profiles and hosts", getFargateProfileCommand(streams, conn), getHostsCommand(streams, conn))
}

func deleteCommand(streams Streams, conn *clientFlags) *cobra.Command {
	return parentCommand("delete", "Delete Fargate profiles", deleteFargateProfileCommand(streams, conn))
}

// createProfileFlags are the flags of `fargo create fargateprofile`.
type createProfileFlags struct {
	conn *clientFlags
	waitFlags
	cluster, name, namespace string
	labels, tags             map[string]string
	subnets                  []string
	roleARN                  string
	loggingSecret            string
}

func createFargateProfileCommand(streams Streams, conn *clientFlags) *cobra.Command {
	flags := createProfileFlags{conn: conn}
	cmd := &cobra.Command{
		Use:     "fargateprofile",
		Aliases: fargateProfileAliases,
		Short:   "Create a Fargate profile and wait until it is ACTIVE",
		Example: "  fargo create fargateprofile --cluster game --name fp-game --namespace game --labels app=2048",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCreateFargateProfile(signalContext(), streams, &flags)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&flags.cluster, "cluster", "", "cluster name, stored in the profile (fargo serves one cluster per control plane)")
	fs.StringVar(&flags.name, "name", "", "name of the profile")
	fs.StringVar(&flags.namespace, "namespace", "", "namespace of the pods the profile takes; * and ? are wildcards")
	fs.StringToStringVar(&flags.labels, "labels", nil, "labels the pods must carry, as k=v,k2=v2 (at most 5); * and ? are wildcards")
	fs.StringSliceVar(&flags.subnets, "subnets", nil, "private CIDR ranges the profile's pods get their IP from (default: the host's pod range)")
	fs.StringVar(&flags.roleARN, "pod-execution-role-arn", "", "pod execution role ARN, stored and shown, not used")
	fs.StringVar(&flags.loggingSecret, "logging-credentials-secret", "", "Secret in aws-observability with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY that the log router sends the profile's pods' logs to AWS with (default: the host's AWS credential chain)")
	fs.StringToStringVar(&flags.tags, "tags", nil, "tags of the profile, as k=v,k2=v2; not copied to pods")
	flags.waitFlags.register(fs, true)
	conn.register(fs)
	for _, name := range []string{"cluster", "name", "namespace"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runCreateFargateProfile(ctx context.Context, streams Streams, f *createProfileFlags) error {
	if problems := f.problems(); len(problems) > 0 {
		return fmt.Errorf("invalid Fargate profile %q: %s", f.name, strings.Join(problems, "; "))
	}
	client, err := f.conn.connect(ctx, streams.ErrOut)
	if err != nil {
		return err
	}
	return createAndWait(ctx, streams, client, f.profile(), f.waitFlags)
}

func (f *createProfileFlags) profile() *v1.FargateProfile {
	p := &v1.FargateProfile{Spec: v1.FargateProfileSpec{
		Selectors:                []v1.Selector{{Namespace: f.namespace, Labels: f.labels}},
		Subnets:                  f.subnets,
		PodExecutionRoleARN:      f.roleARN,
		LoggingCredentialsSecret: f.loggingSecret,
		Tags:                     f.tags,
		ClusterName:              f.cluster,
	}}
	p.Name = f.name
	return p
}

// problems validates each flag on its own, in an otherwise valid profile,
// so that every problem names the flag to fix without depending on how
// internal/profile words its messages.
func (f *createProfileFlags) problems() []string {
	checks := []struct {
		flag  string
		empty bool
		set   func(p *v1.FargateProfile)
	}{
		{"--name", f.name == "", func(p *v1.FargateProfile) { p.Name = f.name }},
		{"--namespace", f.namespace == "", func(p *v1.FargateProfile) { p.Spec.Selectors[0].Namespace = f.namespace }},
		{"--labels", false, func(p *v1.FargateProfile) { p.Spec.Selectors[0].Labels = f.labels }},
		{"--subnets", false, func(p *v1.FargateProfile) { p.Spec.Subnets = f.subnets }},
		{"--tags", false, func(p *v1.FargateProfile) { p.Spec.Tags = f.tags }},
	}
	var problems []string
	for _, c := range checks {
		if c.empty {
			problems = append(problems, c.flag+" must not be empty")
			continue
		}
		p := &v1.FargateProfile{Spec: v1.FargateProfileSpec{Selectors: []v1.Selector{{Namespace: "default"}}}}
		p.Name = "valid"
		c.set(p)
		for _, problem := range validationProblems(p) {
			problems = append(problems, c.flag+": "+problem)
		}
	}
	return problems
}

func validationProblems(p *v1.FargateProfile) []string {
	var invalid *profile.InvalidError
	if err := profile.Validate(p); errors.As(err, &invalid) {
		return invalid.Problems
	} else if err != nil {
		return []string{err.Error()}
	}
	return nil
}

// createAndWait creates p and, if asked, waits until it is ACTIVE, with
// eksctl's progress lines.
func createAndWait(ctx context.Context, streams Streams, client *profileclient.Client, p *v1.FargateProfile, w waitFlags) error {
	where := onCluster(p.Spec.ClusterName)
	fmt.Fprintf(streams.Out, "creating Fargate profile %q%s\n", p.Name, where)
	if _, err := client.Create(ctx, p); err != nil {
		return createError(p.Name, err)
	}
	if !w.wait {
		fmt.Fprintf(streams.Out, "created Fargate profile %q%s; not waiting for it to become ACTIVE\n", p.Name, where)
		return nil
	}
	if err := waitActive(ctx, client, p.Name, w.timeout); err != nil {
		return err
	}
	fmt.Fprintf(streams.Out, "created Fargate profile %q%s\n", p.Name, where)
	return nil
}

func waitActive(ctx context.Context, client *profileclient.Client, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last, err := profileclient.WaitFor(ctx, client, name, profileclient.Active(name))
	return waitError(err, last, timeout, fmt.Sprintf("Fargate profile %q to become ACTIVE", name))
}

// waitError says what a failed wait was waiting for, and where it stopped.
func waitError(err error, last *v1.FargateProfile, timeout time.Duration, what string) error {
	state := ""
	if last != nil {
		state = fmt.Sprintf(" (it is %s)", eksctl.Summarize([]v1.FargateProfile{*last})[0].Status)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timed out after %s waiting for %s%s; see fargo get fargateprofile", timeout, what, state)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted while waiting for %s%s", what, state)
	}
	return apiError(err)
}

func createError(name string, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("Fargate profile %q already exists: profiles are immutable, so delete it first or choose another name", name)
	}
	return apiError(err)
}

func onCluster(cluster string) string {
	if cluster == "" {
		return ""
	}
	return fmt.Sprintf(" on cluster %q", cluster)
}

// waitFlags are --wait and --timeout.
type waitFlags struct {
	wait    bool
	timeout time.Duration
}

func (f *waitFlags) register(fs *pflag.FlagSet, wait bool) {
	help := "wait until each profile is ACTIVE (--wait=false to return at once)"
	if !wait {
		help = "wait until the profile is gone: its pods deleted and the profile removed"
	}
	fs.BoolVar(&f.wait, "wait", wait, help)
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long --wait waits for each profile")
}

// getProfileFlags are the flags of `fargo get fargateprofile`.
type getProfileFlags struct {
	conn                  *clientFlags
	cluster, name, output string
}

func getFargateProfileCommand(streams Streams, conn *clientFlags) *cobra.Command {
	flags := getProfileFlags{conn: conn}
	cmd := &cobra.Command{
		Use:     "fargateprofile",
		Aliases: fargateProfileAliases,
		Short:   "Show Fargate profiles as a table, YAML or JSON",
		Example: "  fargo get fargateprofile --cluster game -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGetFargateProfile(signalContext(), streams, &flags)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&flags.cluster, "cluster", "", "show only the profiles of this cluster (and those created without a cluster name)")
	fs.StringVar(&flags.name, "name", "", "show only this profile")
	fs.StringVarP(&flags.output, "output", "o", eksctl.FormatTable, "output format: table, yaml or json")
	conn.register(fs)
	return cmd
}

func runGetFargateProfile(ctx context.Context, streams Streams, f *getProfileFlags) error {
	if !slices.Contains(eksctl.Formats, f.output) {
		return fmt.Errorf("--output %q: use one of %s", f.output, strings.Join(eksctl.Formats, ", "))
	}
	client, err := f.conn.connect(ctx, streams.ErrOut)
	if err != nil {
		return err
	}
	profiles, err := f.find(ctx, client)
	if err != nil {
		return err
	}
	if len(profiles) == 0 && f.output == eksctl.FormatTable {
		// On stderr, as kubectl does, so that stdout stays a table.
		fmt.Fprintf(streams.ErrOut, "No Fargate profiles found%s\n", onCluster(f.cluster))
		return nil
	}
	return eksctl.Print(streams.Out, f.output, eksctl.Summarize(profiles))
}

func (f *getProfileFlags) find(ctx context.Context, client *profileclient.Client) ([]v1.FargateProfile, error) {
	if f.name != "" {
		p, err := getProfile(ctx, client, f.name, f.cluster)
		if err != nil {
			return nil, err
		}
		return []v1.FargateProfile{*p}, nil
	}
	items, _, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err)
	}
	var profiles []v1.FargateProfile
	for _, p := range items {
		if inCluster(&p, f.cluster) {
			profiles = append(profiles, p)
		}
	}
	return profiles, nil
}

// getProfile returns the profile called name, or an error that says it is
// not on cluster.
func getProfile(ctx context.Context, client *profileclient.Client, name, cluster string) (*v1.FargateProfile, error) {
	p, err := client.Get(ctx, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("Fargate profile %q not found%s", name, onCluster(cluster))
	case err != nil:
		return nil, apiError(err)
	case !inCluster(p, cluster):
		return nil, fmt.Errorf("Fargate profile %q not found on cluster %q: it belongs to cluster %q", name, cluster, p.Spec.ClusterName)
	}
	return p, nil
}

// inCluster treats --cluster as informational: fargo serves one cluster,
// so a profile created without a cluster name (kubectl apply) is in all.
func inCluster(p *v1.FargateProfile, cluster string) bool {
	return cluster == "" || p.Spec.ClusterName == "" || p.Spec.ClusterName == cluster
}

// deleteProfileFlags are the flags of `fargo delete fargateprofile`.
type deleteProfileFlags struct {
	conn *clientFlags
	waitFlags
	cluster, name string
}

func deleteFargateProfileCommand(streams Streams, conn *clientFlags) *cobra.Command {
	flags := deleteProfileFlags{conn: conn}
	cmd := &cobra.Command{
		Use:     "fargateprofile",
		Aliases: fargateProfileAliases,
		Short:   "Delete a Fargate profile and the pods it placed",
		Long: `Delete a Fargate profile. The profile goes DELETING, the pods it placed are
deleted (their controllers recreate them elsewhere, or leave them Pending),
then the profile is removed. While it is DELETING no other profile can be
created or deleted.`,
		Example: "  fargo delete fargateprofile --cluster game --name fp-game --wait",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDeleteFargateProfile(signalContext(), streams, &flags)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&flags.cluster, "cluster", "", "cluster the profile belongs to")
	fs.StringVar(&flags.name, "name", "", "name of the profile")
	flags.waitFlags.register(fs, false)
	conn.register(fs)
	for _, name := range []string{"cluster", "name"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runDeleteFargateProfile(ctx context.Context, streams Streams, f *deleteProfileFlags) error {
	client, err := f.conn.connect(ctx, streams.ErrOut)
	if err != nil {
		return err
	}
	if _, err := getProfile(ctx, client, f.name, f.cluster); err != nil {
		return err
	}
	where := onCluster(f.cluster)
	fmt.Fprintf(streams.Out, "deleting Fargate profile %q%s\n", f.name, where)
	// NotFound here means someone else finished the job meanwhile.
	if err := client.Delete(ctx, f.name); err != nil && !apierrors.IsNotFound(err) {
		return apiError(err)
	}
	if !f.wait {
		fmt.Fprintf(streams.Out, "Fargate profile %q is DELETING: it is removed once its pods are deleted (--wait waits for that)\n", f.name)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	last, err := profileclient.WaitFor(ctx, client, f.name, profileclient.Gone(f.name))
	if err := waitError(err, last, f.timeout, fmt.Sprintf("Fargate profile %q to be deleted", f.name)); err != nil {
		return err
	}
	fmt.Fprintf(streams.Out, "deleted Fargate profile %q%s\n", f.name, where)
	return nil
}
