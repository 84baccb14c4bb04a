package eksctl

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/profile"
)

// ProfileSummary is one profile as `eksctl get fargateprofile -o yaml|json`
// shows it. The fields are in alphabetical order, the order in which
// sigs.k8s.io/yaml writes them, so that JSON and YAML list them alike.
// Empty optional fields are left out.
type ProfileSummary struct {
	Name                string            `json:"name"`
	PodExecutionRoleARN string            `json:"podExecutionRoleARN,omitempty"`
	Selectors           []SelectorSummary `json:"selectors"`
	Status              v1.ProfileState   `json:"status"`
	Subnets             []string          `json:"subnets,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
}

// SelectorSummary is one selector of a ProfileSummary.
type SelectorSummary struct {
	Labels    map[string]string `json:"labels,omitempty"`
	Namespace string            `json:"namespace"`
}

// Summarize turns profiles into summaries sorted by name; never nil, so
// that no profiles print as [] rather than null.
func Summarize(profiles []v1.FargateProfile) []ProfileSummary {
	out := make([]ProfileSummary, 0, len(profiles))
	for i := range profiles {
		out = append(out, summarize(&profiles[i]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func summarize(p *v1.FargateProfile) ProfileSummary {
	s := ProfileSummary{
		Name:                p.Name,
		PodExecutionRoleARN: p.Spec.PodExecutionRoleARN,
		Selectors:           make([]SelectorSummary, 0, len(p.Spec.Selectors)),
		Status:              state(p),
		Subnets:             p.Spec.Subnets,
		Tags:                p.Spec.Tags,
	}
	for _, sel := range p.Spec.Selectors {
		s.Selectors = append(s.Selectors, SelectorSummary{Labels: sel.Labels, Namespace: sel.Namespace})
	}
	return s
}

// state is the status users should see: a profile the controller has not
// seen yet is CREATING (as the API types say), and one marked for deletion
// is DELETING even before the controller writes it.
func state(p *v1.FargateProfile) v1.ProfileState {
	switch {
	case p.Status.Status == v1.StateDeleteFailed:
		return v1.StateDeleteFailed
	case profile.IsDeleting(p):
		return v1.StateDeleting
	case p.Status.Status == "":
		return v1.StateCreating
	}
	return p.Status.Status
}

// The output formats of Print.
const (
	FormatTable = "table"
	FormatYAML  = "yaml"
	FormatJSON  = "json"
)

// Formats lists the formats Print accepts, for flag help and errors.
var Formats = []string{FormatTable, FormatYAML, FormatJSON}

// Print writes summaries in format. The table has one row per selector,
// as eksctl prints it; an empty list gives an empty table (no header), so
// that the caller can say "no profiles" where it sees fit.
func Print(w io.Writer, format string, summaries []ProfileSummary) error {
	switch format {
	case FormatYAML:
		return printYAML(w, summaries)
	case FormatJSON:
		return printJSON(w, summaries)
	case FormatTable:
		return printTable(w, summaries)
	}
	return fmt.Errorf("unknown output format %q: use one of %s", format, strings.Join(Formats, ", "))
}

func printYAML(w io.Writer, summaries []ProfileSummary) error {
	data, err := yaml.Marshal(summaries)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func printJSON(w io.Writer, summaries []ProfileSummary) error {
	data, err := json.MarshalIndent(summaries, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

var tableHeader = []string{"NAME", "SELECTOR_NAMESPACE", "SELECTOR_LABELS", "POD_EXECUTION_ROLE_ARN", "SUBNETS", "TAGS", "STATUS"}

func printTable(w io.Writer, summaries []ProfileSummary) error {
	if len(summaries) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t"))
	for _, s := range summaries {
		selectors := s.Selectors
		if len(selectors) == 0 {
			// The CRD requires a selector; show such an object anyway.
			selectors = []SelectorSummary{{Namespace: "<none>"}}
		}
		for _, sel := range selectors {
			fmt.Fprintln(tw, strings.Join([]string{
				s.Name, sel.Namespace, pairs(sel.Labels), orNone(s.PodExecutionRoleARN),
				orNone(strings.Join(s.Subnets, ",")), pairs(s.Tags), string(s.Status),
			}, "\t"))
		}
	}
	return tw.Flush()
}

// pairs writes a map as k=v,k2=v2 in key order, or <none>.
func pairs(m map[string]string) string {
	kv := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k+"="+m[k])
	}
	return orNone(strings.Join(kv, ","))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
