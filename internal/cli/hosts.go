package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/sizing"
)

func getHostsCommand(streams Streams, conn *clientFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "hosts",
		Aliases: []string{"host"},
		Short:   "List the hosts that run Fargate pods, with what they use of what they offer",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGetHosts(cmd.Context(), streams, conn)
		},
	}
	conn.register(cmd.Flags())
	return cmd
}

func runGetHosts(ctx context.Context, streams Streams, conn *clientFlags) error {
	cfg, err := conn.readyConfig(ctx, streams.ErrOut)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	hosts, _, err := hostclient.New(dyn).List(ctx, metav1.ListOptions{})
	if err != nil {
		return apiError(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: podnode.LabelHost})
	if err != nil {
		return apiError(err)
	}
	if len(hosts) == 0 {
		fmt.Fprintln(streams.ErrOut, "No hosts: start one with fargo agent --server URL --token TOKEN")
		return nil
	}
	printHosts(streams.Out, hosts, usage(nodes.Items), time.Now())
	return nil
}

// hostUsage is what the pod-nodes of one host take.
type hostUsage struct {
	pods        int
	cpu, memory resource.Quantity
}

func usage(nodes []corev1.Node) map[string]*hostUsage {
	used := map[string]*hostUsage{}
	for i := range nodes {
		host := nodes[i].Labels[podnode.LabelHost]
		size, err := podnode.SizeOf(&nodes[i])
		if !podnode.Is(&nodes[i]) || err != nil {
			continue
		}
		u := used[host]
		if u == nil {
			u = &hostUsage{}
			used[host] = u
		}
		r := sizing.Resources(size)
		u.pods++
		u.cpu.Add(r[corev1.ResourceCPU])
		u.memory.Add(r[corev1.ResourceMemory])
	}
	return used
}

func printHosts(out io.Writer, hosts []v1.Host, used map[string]*hostUsage, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tREADY\tZONE\tTIER\tPODS\tCPU\tMEMORY\tPOD-CIDRS\tAGE")
	for _, h := range hosts {
		u := used[h.Name]
		if u == nil {
			u = &hostUsage{}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s/%s\t%s/%s\t%s\t%s\n",
			h.Name, ready(h), h.Spec.Zone, strings.Join(h.Spec.Tiers, ","), u.pods,
			u.cpu.String(), cpuText(h.Spec.Allocatable), u.memory.String(), memoryText(h.Spec.Allocatable),
			strings.Join(h.Spec.PodCIDRs, ","), duration.HumanDuration(now.Sub(h.CreationTimestamp.Time)))
	}
	w.Flush()
}

func ready(h v1.Host) string {
	c := meta.FindStatusCondition(h.Status.Conditions, v1.HostReady)
	if c == nil {
		return "Unknown"
	}
	return string(c.Status)
}

func cpuText(l corev1.ResourceList) string    { q := l[corev1.ResourceCPU]; return q.String() }
func memoryText(l corev1.ResourceList) string { q := l[corev1.ResourceMemory]; return q.String() }
