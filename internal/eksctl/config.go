// Package eksctl reads and writes the eksctl formats fargo speaks: the
// ClusterConfig file of `fargo create cluster -f` (Load, Parse) and the
// profile summaries `fargo get fargateprofile` prints (Summarize, Print).
//
// fargo accepts the part of eksctl's ClusterConfig that means something for
// a fargo cluster, listed in shared/spec/fargate-behaviour.md section 1.
// Any other field is reported with its path rather than silently dropped:
// a user who writes `selector:` for `selectors:` must not end up with a
// profile that takes nothing.
package eksctl

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// The apiVersion and kind a ClusterConfig file must declare.
const (
	APIVersion = "eksctl.io/v1alpha5"
	Kind       = "ClusterConfig"
)

// ClusterConfig is the accepted part of eksctl's ClusterConfig.
type ClusterConfig struct {
	APIVersion      string           `json:"apiVersion"`
	Kind            string           `json:"kind"`
	Metadata        ClusterMeta      `json:"metadata"`
	VPC             *ClusterVPC      `json:"vpc,omitempty"`
	FargateProfiles []FargateProfile `json:"fargateProfiles,omitempty"`
}

// ClusterMeta names the cluster. fargo serves one cluster per control
// plane, so these are reported and stored in the profiles' clusterName,
// never used to pick a cluster.
type ClusterMeta struct {
	Name    string `json:"name"`
	Region  string `json:"region,omitempty"`
	Version string `json:"version,omitempty"`
}

// ClusterVPC is the cluster's network; profile subnets must lie inside CIDR.
type ClusterVPC struct {
	CIDR string `json:"cidr,omitempty"`
}

// FargateProfile is one entry of fargateProfiles.
type FargateProfile struct {
	Name                string            `json:"name"`
	Selectors           []Selector        `json:"selectors,omitempty"`
	Subnets             []string          `json:"subnets,omitempty"`
	PodExecutionRoleARN string            `json:"podExecutionRoleARN,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
}

// Selector is one entry of a profile's selectors.
type Selector struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// FileError lists every problem found in a ClusterConfig file.
type FileError struct {
	File     string
	Problems []string
}

// Error prints one problem per line, each as `FILE: problem`.
func (e *FileError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.File + ": " + p
	}
	return strings.Join(lines, "\n")
}

func fileError(file string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return &FileError{File: file, Problems: problems}
}

// Load reads and parses the ClusterConfig file at path; see Parse.
func Load(path string) (*ClusterConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a ClusterConfig and checks everything that can be checked
// without a cluster: apiVersion and kind, unknown fields and wrong types
// (all of them, each with its path), then the cluster's name and network
// and every profile (profile.Validate, unique names, subnets inside
// vpc.cidr). It returns a *FileError naming file, or a config whose
// Profiles are valid.
func Parse(file string, data []byte) (*ClusterConfig, error) {
	doc, err := decodeGeneric(data)
	if err != nil {
		return nil, fileError(file, []string{err.Error()})
	}
	if problems := checkHeader(doc); len(problems) > 0 {
		// A file of another kind would drown in unknown fields.
		return nil, fileError(file, problems)
	}
	if problems := checkShape(doc); len(problems) > 0 {
		return nil, fileError(file, problems)
	}
	var cfg ClusterConfig
	// Not strict: checkShape has found the unknown fields already, and
	// this decoder turns `app: 2048` into the string "2048" as eksctl does.
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fileError(file, []string{err.Error()})
	}
	if err := fileError(file, cfg.problems()); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// decodeGeneric decodes YAML into JSON-like values: maps, lists, strings,
// float64, bool and nil. Duplicate keys are refused, as the second would
// silently win.
func decodeGeneric(data []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %s", oneLine(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")))
	}
	var doc any
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a %s (apiVersion: %s, kind: %s), found %s", Kind, APIVersion, Kind, describe(doc))
	}
	return m, nil
}

// oneLine joins a multi-line YAML error ("unmarshal errors:\n  line 4:
// ...") so that each problem stays on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// checkHeader checks apiVersion and kind.
func checkHeader(doc map[string]any) []string {
	var problems []string
	for _, h := range []struct{ field, want string }{{"apiVersion", APIVersion}, {"kind", Kind}} {
		switch got, ok := doc[h.field]; {
		case !ok || got == nil:
			problems = append(problems, fmt.Sprintf("%s is missing: expected %q", h.field, h.want))
		case got != h.want:
			problems = append(problems, fmt.Sprintf("%s is %s: expected %q", h.field, quoteValue(got), h.want))
		}
	}
	return problems
}

// Profiles returns the file's profiles as FargateProfile objects, with
// spec.clusterName set to metadata.name, in file order.
func (c *ClusterConfig) Profiles() []v1.FargateProfile {
	profiles := make([]v1.FargateProfile, 0, len(c.FargateProfiles))
	for _, fp := range c.FargateProfiles {
		profiles = append(profiles, fp.object(c.Metadata.Name))
	}
	return profiles
}

func (fp FargateProfile) object(cluster string) v1.FargateProfile {
	p := v1.FargateProfile{
		Spec: v1.FargateProfileSpec{
			Subnets:             fp.Subnets,
			PodExecutionRoleARN: fp.PodExecutionRoleARN,
			Tags:                fp.Tags,
			ClusterName:         cluster,
		},
	}
	p.Name = fp.Name
	p.APIVersion = v1.SchemeGroupVersion.String()
	p.Kind = v1.Kind
	for _, s := range fp.Selectors {
		p.Spec.Selectors = append(p.Spec.Selectors, v1.Selector{Namespace: s.Namespace, Labels: s.Labels})
	}
	return p
}
