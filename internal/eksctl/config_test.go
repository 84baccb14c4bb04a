package eksctl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

const header = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n"

const sample = header + `metadata:
  name: game
  region: us-west-2
  version: "1.36"
vpc:
  cidr: 10.10.0.0/16
fargateProfiles:
  - name: fargate-game-2048
    podExecutionRoleARN: arn:aws:iam::000000000000:role/fargate
    selectors:
      - namespace: fargate-game-2048
      - namespace: web
        labels:
          app: "2048"
          tier: front
    subnets:
      - 10.10.0.0/20
    tags:
      team: games
  - name: fp-default
    selectors:
      - namespace: default
`

func TestParseSample(t *testing.T) {
	cfg, err := Parse("cluster.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metadata != (ClusterMeta{Name: "game", Region: "us-west-2", Version: "1.36"}) || cfg.VPC.CIDR != "10.10.0.0/16" {
		t.Errorf("metadata %+v, vpc %+v", cfg.Metadata, cfg.VPC)
	}
	typeMeta := metav1.TypeMeta{APIVersion: "fargo.dev/v1", Kind: "FargateProfile"}
	want := []v1.FargateProfile{
		{
			TypeMeta:   typeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: "fargate-game-2048"},
			Spec: v1.FargateProfileSpec{
				Selectors: []v1.Selector{
					{Namespace: "fargate-game-2048"},
					{Namespace: "web", Labels: map[string]string{"app": "2048", "tier": "front"}},
				},
				Subnets:             []string{"10.10.0.0/20"},
				PodExecutionRoleARN: "arn:aws:iam::000000000000:role/fargate",
				Tags:                map[string]string{"team": "games"},
				ClusterName:         "game",
			},
		},
		{
			TypeMeta:   typeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: "fp-default"},
			Spec:       v1.FargateProfileSpec{Selectors: []v1.Selector{{Namespace: "default"}}, ClusterName: "game"},
		},
	}
	if got := cfg.Profiles(); !reflect.DeepEqual(got, want) {
		t.Errorf("Profiles()\n got %+v\nwant %+v", got, want)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(*ClusterConfig) bool
	}{
		{
			name:  "metadata only",
			body:  "metadata:\n  name: c\n",
			check: func(c *ClusterConfig) bool { return len(c.Profiles()) == 0 },
		},
		{
			name:  "unquoted label value becomes a string, as in eksctl",
			body:  "metadata: {name: c}\nfargateProfiles:\n- name: fp\n  selectors:\n  - namespace: game\n    labels: {app: 2048}\n",
			check: func(c *ClusterConfig) bool { return c.Profiles()[0].Spec.Selectors[0].Labels["app"] == "2048" },
		},
		{
			name:  "empty values are unset",
			body:  "metadata: {name: c}\nvpc:\nfargateProfiles:\n- name: fp\n  selectors:\n  - namespace: game\n    labels:\n  tags:\n",
			check: func(c *ClusterConfig) bool { return c.Profiles()[0].Spec.Selectors[0].Labels == nil },
		},
		{
			name:  "wildcards",
			body:  "metadata: {name: c}\nfargateProfiles:\n- name: fp\n  selectors:\n  - namespace: 'team-*'\n    labels: {'app.kubernetes.io/*': 'web-?'}\n",
			check: func(c *ClusterConfig) bool { return c.Profiles()[0].Spec.Selectors[0].Namespace == "team-*" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("cluster.yaml", []byte(header+tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected config %+v", cfg)
			}
		})
	}
}

// TestParseRefuses checks the whole error text: every problem, one a line.
func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{
			name: "misspelt selectors",
			body: header + "metadata: {name: c}\nfargateProfiles:\n- name: fp\n  selector:\n  - namespace: game\n",
			want: []string{
				`cluster.yaml: unknown field "fargateProfiles[0].selector" (did you mean "selectors"?)`,
			},
		},
		{
			name: "every unknown field",
			body: header + `metadata: {name: c, tags: {a: b}}
managedNodeGroups: []
vpc: {cidr: 10.0.0.0/16, subnet: x}
fargateProfiles:
- name: fp
  podExecutionRoleArn: arn
  selectors:
  - namespace: game
    label: {app: web}
  - namespace: web
    namespaces: [a]
`,
			want: []string{
				`cluster.yaml: unknown field "fargateProfiles[0].podExecutionRoleArn" (did you mean "podExecutionRoleARN"?)`,
				`cluster.yaml: unknown field "fargateProfiles[0].selectors[0].label" (did you mean "labels"?)`,
				`cluster.yaml: unknown field "fargateProfiles[0].selectors[1].namespaces" (did you mean "namespace"?)`,
				`cluster.yaml: unknown field "managedNodeGroups"`,
				`cluster.yaml: unknown field "metadata.tags"`,
				`cluster.yaml: unknown field "vpc.subnet"`,
			},
		},
		{
			name: "wrong types",
			body: header + `metadata: [c]
fargateProfiles:
  name: fp
`,
			want: []string{
				`cluster.yaml: fargateProfiles: expected a list, found a mapping`,
				`cluster.yaml: metadata: expected a mapping of fields, found a list`,
			},
		},
		{
			name: "wrong types inside profiles",
			body: header + `metadata: {name: c}
fargateProfiles:
- name: fp
  selectors: game
  subnets: [[10.0.0.0/8]]
  tags: {"a/b": {c: d}}
`,
			want: []string{
				`cluster.yaml: fargateProfiles[0].selectors: expected a list, found the string "game"`,
				`cluster.yaml: fargateProfiles[0].subnets[0]: expected a string, found a list`,
				`cluster.yaml: fargateProfiles[0].tags["a/b"]: expected a string, found a mapping`,
			},
		},
		{
			name: "unquoted version",
			body: header + "metadata: {name: c, version: 1.30}\n",
			want: []string{
				`cluster.yaml: metadata.version: quote the version, as in version: "1.30": YAML reads an unquoted version as a number (here 1.3)`,
			},
		},
		{
			name: "wrong apiVersion and kind",
			body: "apiVersion: eksctl.io/v1alpha4\nkind: Cluster\nmetadata: {name: c}\nspec: {}\n",
			want: []string{
				`cluster.yaml: apiVersion is "eksctl.io/v1alpha4": expected "eksctl.io/v1alpha5"`,
				`cluster.yaml: kind is "Cluster": expected "ClusterConfig"`,
			},
		},
		{
			name: "no header",
			body: "metadata: {name: c}\n",
			want: []string{
				`cluster.yaml: apiVersion is missing: expected "eksctl.io/v1alpha5"`,
				`cluster.yaml: kind is missing: expected "ClusterConfig"`,
			},
		},
		{
			name: "empty file",
			body: "",
			want: []string{`cluster.yaml: expected a ClusterConfig (apiVersion: eksctl.io/v1alpha5, kind: ClusterConfig), found nothing`},
		},
		{
			name: "duplicate key",
			body: header + "metadata: {name: c}\nmetadata: {name: d}\n",
			want: []string{`cluster.yaml: not valid YAML: yaml: unmarshal errors: line 4: key "metadata" already set in map`},
		},
		{
			name: "not YAML",
			body: header + "metadata:\n  name: c\n   region: x\n",
			want: []string{`cluster.yaml: not valid YAML: yaml: line 5: mapping values are not allowed in this context`},
		},
		{
			name: "a list, not a config",
			body: "- a\n",
			want: []string{`cluster.yaml: expected a ClusterConfig (apiVersion: eksctl.io/v1alpha5, kind: ClusterConfig), found a list`},
		},
		{
			name: "invalid profiles",
			body: header + `metadata: {region: us-west-2}
vpc: {cidr: 10.10.0.0/16}
fargateProfiles:
- name: eks-game
  selectors: [{namespace: game}]
  subnets: [10.20.0.0/20, 8.8.8.0/24]
- selectors: [{labels: {app: web}}]
- name: fp
  selectors: [{namespace: a}]
- name: fp
  selectors: [{namespace: b}]
`,
			want: []string{
				`cluster.yaml: metadata.name is required: set the cluster's name`,
				`cluster.yaml: fargateProfiles[0] "eks-game": name must not start with "eks-"`,
				`cluster.yaml: fargateProfiles[0] "eks-game": subnet "8.8.8.0/24" is not inside a private range: use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10`,
				`cluster.yaml: fargateProfiles[0] "eks-game": subnet "10.20.0.0/20" is outside vpc.cidr 10.10.0.0/16: use a range inside it`,
				`cluster.yaml: fargateProfiles[0] "eks-game": subnet "8.8.8.0/24" is outside vpc.cidr 10.10.0.0/16: use a range inside it`,
				`cluster.yaml: fargateProfiles[1]: name is required: set the profile's name`,
				`cluster.yaml: fargateProfiles[1]: selector 1 has no namespace: namespace is required`,
				`cluster.yaml: fargateProfiles[3] "fp": the name is already used by fargateProfiles[2]: profile names must be unique`,
			},
		},
		{
			name: "bad vpc cidr",
			body: header + "metadata: {name: c}\nvpc: {cidr: 10.10.0.1/16}\n",
			want: []string{`cluster.yaml: vpc.cidr "10.10.0.1/16" has host bits set: write 10.10.0.0/16`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cluster.yaml", []byte(tt.body))
			var fileErr *FileError
			if !errors.As(err, &fileErr) {
				t.Fatalf("error %v (%T), want a *FileError", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil || cfg.Metadata.Name != "game" {
		t.Fatalf("Load: %+v, %v", cfg, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	known := clusterConfigShape.fields["fargateProfiles"].elem.fields
	tests := []struct{ key, want string }{
		{"selector", "selectors"},
		{"Selectors", "selectors"},
		{"podExecutionRoleArn", "podExecutionRoleARN"},
		{"subnet", "subnets"},
		{"tag", "tags"},
		{"nmae", "name"},
		{"iam", ""},
		{"podexecutionrolearn", "podExecutionRoleARN"},
		{"labels", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := suggest(tt.key, known); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}
