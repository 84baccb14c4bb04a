package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/version"
)

const clusterYAML = `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: game
  region: us-west-2
  version: "1.36"
vpc:
  cidr: 10.10.0.0/16
fargateProfiles:
  - name: fargate-game-2048
    podExecutionRoleARN: arn:aws:iam::000000000000:role/fargo-pod-execution
    selectors:
      - namespace: fargate-game-2048
    subnets:
      - 10.10.0.0/20
  - name: fp-default
    selectors:
      - namespace: default
      - namespace: kube-system
        labels:
          k8s-app: kube-dns
`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// header is what create cluster prints about the sample file.
func header(file string) string {
	s := fmt.Sprintf("using cluster \"game\" from %s (region us-west-2, Kubernetes 1.36, VPC 10.10.0.0/16)\n", file) +
		"fargo serves one cluster per control plane: the Fargate profiles go to the cluster the kubeconfig points at\n"
	if have := majorMinor(version.Kubernetes()); have != "" && have != "1.36" {
		s += fmt.Sprintf("note: %s asks for Kubernetes 1.36; this fargo runs Kubernetes %s\n", file, version.Kubernetes())
	}
	return s
}

func TestCreateCluster(t *testing.T) {
	fp2048 := game2048()
	fp2048.Status = v1.FargateProfileStatus{}
	changed := game2048()
	changed.Spec.Subnets = []string{"10.10.16.0/20"}
	unnamed := game2048()
	unnamed.Spec.ClusterName = ""
	tests := []struct {
		name     string
		existing []*v1.FargateProfile
		want     string
		wantErr  string
		creates  int
	}{
		{
			name: "creates every profile",
			want: "creating Fargate profile \"fargate-game-2048\" on cluster \"game\"\n" +
				"created Fargate profile \"fargate-game-2048\" on cluster \"game\"\n" +
				"creating Fargate profile \"fp-default\" on cluster \"game\"\n" +
				"created Fargate profile \"fp-default\" on cluster \"game\"\n" +
				"cluster \"game\": 2 Fargate profiles created, 0 already existed\n",
			creates: 2,
		},
		{
			name:     "skips an identical profile",
			existing: []*v1.FargateProfile{game2048()},
			want: "Fargate profile \"fargate-game-2048\" already exists with the same spec: skipping\n" +
				"creating Fargate profile \"fp-default\" on cluster \"game\"\n" +
				"created Fargate profile \"fp-default\" on cluster \"game\"\n" +
				"cluster \"game\": 1 Fargate profile created, 1 already existed\n",
			creates: 1,
		},
		{
			name:     "a profile made without a cluster name is the same",
			existing: []*v1.FargateProfile{unnamed},
			want: "Fargate profile \"fargate-game-2048\" already exists with the same spec: skipping\n" +
				"creating Fargate profile \"fp-default\" on cluster \"game\"\n" +
				"created Fargate profile \"fp-default\" on cluster \"game\"\n" +
				"cluster \"game\": 1 Fargate profile created, 1 already existed\n",
			creates: 1,
		},
		{
			name:     "refuses a changed profile before creating anything",
			existing: []*v1.FargateProfile{changed},
			wantErr: `Fargate profile "fargate-game-2048" already exists with a different subnets: profiles are immutable, ` +
				`so delete it first (fargo delete fargateprofile --cluster game --name fargate-game-2048 --wait) or rename it`,
		},
		{
			name:     "refuses a profile being deleted",
			existing: []*v1.FargateProfile{profileOn("fp-default", "game", v1.StateDeleting)},
			wantErr:  `Fargate profile "fp-default" is being deleted: run this again once it is gone`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, clusterYAML)
			dyn := newFake(t, tt.existing...)
			settle(dyn, v1.StateActive, "")
			out, _, err := execute(t, dyn, createCommand, "cluster", "-f", file)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error\n got %q\nwant %q", got, tt.wantErr)
			}
			if want := header(file) + tt.want; tt.wantErr == "" && out != want {
				t.Errorf("stdout\n got %q\nwant %q", out, want)
			}
			if n := created(dyn); n != tt.creates {
				t.Errorf("%d profiles created, want %d", n, tt.creates)
			}
		})
	}
}

func TestCreateClusterStoresProfiles(t *testing.T) {
	dyn := newFake(t)
	settle(dyn, v1.StateActive, "")
	if _, _, err := execute(t, dyn, createCommand, "cluster", "--config-file", writeFile(t, clusterYAML), "--wait=false"); err != nil {
		t.Fatal(err)
	}
	want := v1.FargateProfileSpec{
		Selectors: []v1.Selector{
			{Namespace: "default"},
			{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		},
		ClusterName: "game",
	}
	if got := stored(t, dyn, "fp-default").Spec; !reflect.DeepEqual(got, want) {
		t.Errorf("stored spec\n got %+v\nwant %+v", got, want)
	}
}

// TestCreateClusterRefusesBadFiles checks that file problems are reported
// with the file's name and that nothing reaches the cluster.
func TestCreateClusterRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name string
		body string
		args []string
		want []string // lines after "FILE: "
	}{
		{
			name: "unknown fields",
			body: strings.Replace(strings.Replace(clusterYAML, "selectors:\n      - namespace: fargate", "selector:\n      - namespace: fargate", 1),
				"  region:", "  zone: a\n  region:", 1),
			want: []string{
				`unknown field "fargateProfiles[0].selector" (did you mean "selectors"?)`,
				`unknown field "metadata.zone"`,
			},
		},
		{
			name: "wrong apiVersion",
			body: strings.Replace(clusterYAML, "v1alpha5", "v1alpha4", 1),
			want: []string{`apiVersion is "eksctl.io/v1alpha4": expected "eksctl.io/v1alpha5"`},
		},
		{
			name: "invalid profile",
			body: strings.Replace(clusterYAML, "name: fp-default", "name: eks-default", 1),
			want: []string{`fargateProfiles[1] "eks-default": name must not start with "eks-"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, tt.body)
			dyn := newFake(t)
			_, _, err := execute(t, dyn, createCommand, "cluster", "-f", file)
			want := make([]string, len(tt.want))
			for i, line := range tt.want {
				want[i] = file + ": " + line
			}
			if got := errString(err); got != strings.Join(want, "\n") {
				t.Errorf("error\n got %q\nwant %q", got, strings.Join(want, "\n"))
			}
			if len(dyn.Actions()) != 0 {
				t.Errorf("the cluster was called: %v", dyn.Actions())
			}
		})
	}
}

func TestCreateClusterNeedsAFile(t *testing.T) {
	_, _, err := execute(t, newFake(t), createCommand, "cluster")
	if want := `required flag(s) "config-file" not set`; errString(err) != want {
		t.Errorf("error %q, want %q", errString(err), want)
	}
}

func TestSpecDiff(t *testing.T) {
	base := func() *v1.FargateProfileSpec { return &game2048().Spec }
	tests := []struct {
		name   string
		change func(*v1.FargateProfileSpec)
		want   []string
	}{
		{"same", func(*v1.FargateProfileSpec) {}, nil},
		{"empty tags are no tags", func(s *v1.FargateProfileSpec) { s.Tags = map[string]string{} }, nil},
		{"no cluster name", func(s *v1.FargateProfileSpec) { s.ClusterName = "" }, nil},
		{"other cluster", func(s *v1.FargateProfileSpec) { s.ClusterName = "other" }, []string{"clusterName"}},
		{"labels and role", func(s *v1.FargateProfileSpec) {
			s.Selectors[0].Labels = map[string]string{"a": "b"}
			s.PodExecutionRoleARN = ""
		}, []string{"selectors", "podExecutionRoleARN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base()
			tt.change(b)
			if got := specDiff(base(), b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("specDiff = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMajorMinor(t *testing.T) {
	for in, want := range map[string]string{"1.36": "1.36", "v1.36.3": "1.36", "1.36.0": "1.36", "unknown": "", "": "", "1.": ""} {
		t.Run(in, func(t *testing.T) {
			if got := majorMinor(in); got != want {
				t.Errorf("majorMinor(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
