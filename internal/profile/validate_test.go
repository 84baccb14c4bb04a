package profile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// valid returns a profile that breaks no rule; cases change one thing.
func valid() *v1.FargateProfile {
	return &v1.FargateProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "fp-default"},
		Spec: v1.FargateProfileSpec{
			Selectors:           []v1.Selector{{Namespace: "default", Labels: map[string]string{"app": "web"}}},
			Subnets:             []string{"10.10.0.0/20"},
			PodExecutionRoleARN: "arn:aws:iam::000000000000:role/fargate",
			Tags:                map[string]string{"team": "platform"},
		},
	}
}

func labelsN(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *v1.FargateProfile)
		want   string // "" means valid
	}{
		{"valid profile", func(p *v1.FargateProfile) {}, ""},
		{"minimal profile", func(p *v1.FargateProfile) {
			p.Spec = v1.FargateProfileSpec{Selectors: []v1.Selector{{Namespace: "ns"}}}
		}, ""},
		{"wildcards are valid", func(p *v1.FargateProfile) {
			p.Spec.Selectors = []v1.Selector{{Namespace: "team-*", Labels: map[string]string{"app*": "w?b"}}}
		}, ""},

		{"name required", func(p *v1.FargateProfile) { p.Name = "" },
			`fargate profile "": name is required: set metadata.name`},
		{"name 63 characters is fine", func(p *v1.FargateProfile) { p.Name = strings.Repeat("a", 63) }, ""},
		{"name too long", func(p *v1.FargateProfile) { p.Name = strings.Repeat("a", 64) },
			`fargate profile "` + strings.Repeat("a", 64) + `": name is 64 characters: at most 63 are allowed`},
		{"name reserved prefix", func(p *v1.FargateProfile) { p.Name = "eks-x" },
			`fargate profile "eks-x": name must not start with "eks-"`},
		{"name eks without dash is fine", func(p *v1.FargateProfile) { p.Name = "eksx" }, ""},
		{"microvm tier", func(p *v1.FargateProfile) { p.Spec.Tier = "microvm" }, ""},
		{"unknown tier", func(p *v1.FargateProfile) { p.Spec.Tier = "kata" },
			`fargate profile "fp-default": tier "kata" is not a sandbox tier: use one of oci, gvisor, microvm, or leave it empty for the host's default`},
		{"name not a kubernetes name", func(p *v1.FargateProfile) { p.Name = "Web_Apps" },
			`fargate profile "Web_Apps": name must consist of lower case letters, digits, '-' and '.', and start and end with a letter or digit`},

		{"no selectors", func(p *v1.FargateProfile) { p.Spec.Selectors = nil },
			`fargate profile "fp-default": has no selectors: at least 1 is required`},
		{"5 selectors is fine", func(p *v1.FargateProfile) { p.Spec.Selectors = make([]v1.Selector, 5); fill(p.Spec.Selectors) }, ""},
		{"6 selectors", func(p *v1.FargateProfile) { p.Spec.Selectors = make([]v1.Selector, 6); fill(p.Spec.Selectors) },
			`fargate profile "fp-default": has 6 selectors: at most 5 are allowed`},
		{"selector without namespace", func(p *v1.FargateProfile) { p.Spec.Selectors[0].Namespace = "" },
			`fargate profile "fp-default": selector 1 has no namespace: namespace is required`},
		{"5 labels is fine", func(p *v1.FargateProfile) { p.Spec.Selectors[0].Labels = labelsN(5) }, ""},
		{"6 labels", func(p *v1.FargateProfile) { p.Spec.Selectors[0].Labels = labelsN(6) },
			`fargate profile "fp-default": selector 1 has 6 labels: at most 5 are allowed`},
		{"second selector numbered 2", func(p *v1.FargateProfile) {
			p.Spec.Selectors = append(p.Spec.Selectors, v1.Selector{Labels: labelsN(7)})
		}, `fargate profile "fp-default": selector 2 has no namespace: namespace is required; selector 2 has 7 labels: at most 5 are allowed`},

		{"every private range", func(p *v1.FargateProfile) {
			p.Spec.Subnets = []string{"10.0.0.0/8", "172.16.0.0/12", "172.31.255.0/24", "192.168.0.0/16", "100.64.0.0/10", "100.127.0.0/16"}
		}, ""},
		{"subnet not a CIDR", func(p *v1.FargateProfile) { p.Spec.Subnets = []string{"10.0.0.0"} },
			`fargate profile "fp-default": subnet "10.0.0.0" is not a CIDR range: write it like 10.10.0.0/20`},
		{"subnet public", func(p *v1.FargateProfile) { p.Spec.Subnets = []string{"8.8.8.0/24"} },
			`fargate profile "fp-default": subnet "8.8.8.0/24" is not inside a private range: use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10`},
		{"subnet wider than its private range", func(p *v1.FargateProfile) { p.Spec.Subnets = []string{"172.0.0.0/8"} },
			`fargate profile "fp-default": subnet "172.0.0.0/8" is not inside a private range: use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10`},
		{"subnet just outside 172.16/12", func(p *v1.FargateProfile) { p.Spec.Subnets = []string{"172.32.0.0/16"} },
			`fargate profile "fp-default": subnet "172.32.0.0/16" is not inside a private range: use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10`},
		{"subnet IPv6", func(p *v1.FargateProfile) { p.Spec.Subnets = []string{"fd00::/64"} },
			`fargate profile "fp-default": subnet "fd00::/64" is not inside a private range: use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10`},
		{"subnet host bits", func(p *v1.FargateProfile) { p.Spec.Subnets = []string{"10.10.0.5/20"} },
			`fargate profile "fp-default": subnet "10.10.0.5/20" has host bits set: write 10.10.0.0/20`},

		{"tag key 128 and value 256 are fine", func(p *v1.FargateProfile) {
			p.Spec.Tags = map[string]string{strings.Repeat("k", 128): strings.Repeat("v", 256)}
		}, ""},
		{"tag lengths count characters", func(p *v1.FargateProfile) {
			p.Spec.Tags = map[string]string{strings.Repeat("é", 128): strings.Repeat("ü", 256)}
		}, ""},
		{"tag key empty", func(p *v1.FargateProfile) { p.Spec.Tags = map[string]string{"": "v"} },
			`fargate profile "fp-default": tag key is empty: tag keys must be 1 to 128 characters`},
		{"tag key too long", func(p *v1.FargateProfile) { p.Spec.Tags = map[string]string{strings.Repeat("k", 129): "v"} },
			`fargate profile "fp-default": tag key "` + strings.Repeat("k", 129) + `" is 129 characters: at most 128 are allowed`},
		{"tag value too long", func(p *v1.FargateProfile) { p.Spec.Tags = map[string]string{"team": strings.Repeat("v", 257)} },
			`fargate profile "fp-default": tag "team" has a value of 257 characters: at most 256 are allowed`},

		{"all problems in a fixed order", func(p *v1.FargateProfile) {
			p.Name = "eks-all"
			p.Spec.Selectors = []v1.Selector{{Namespace: "ok"}, {}}
			p.Spec.Subnets = []string{"nope", "1.1.1.0/24"}
			p.Spec.Tags = map[string]string{"b": strings.Repeat("v", 300), "": "x"}
		}, `fargate profile "eks-all": name must not start with "eks-"; ` +
			`selector 2 has no namespace: namespace is required; ` +
			`subnet "nope" is not a CIDR range: write it like 10.10.0.0/20; ` +
			`subnet "1.1.1.0/24" is not inside a private range: use a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10; ` +
			`tag key is empty: tag keys must be 1 to 128 characters; ` +
			`tag "b" has a value of 300 characters: at most 256 are allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(p)
			assertError(t, Validate(p), tt.want)
		})
	}
}

func TestValidateReturnsInvalidError(t *testing.T) {
	p := valid()
	p.Name = "eks-x"
	p.Spec.Selectors[0].Namespace = ""
	var invalid *InvalidError
	if !errors.As(Validate(p), &invalid) {
		t.Fatalf("Validate did not return *InvalidError")
	}
	want := []string{`name must not start with "eks-"`, "selector 1 has no namespace: namespace is required"}
	if invalid.Profile != "eks-x" || strings.Join(invalid.Problems, "|") != strings.Join(want, "|") {
		t.Errorf("got %q %q, want %q", invalid.Profile, invalid.Problems, want)
	}
}

func fill(selectors []v1.Selector) {
	for i := range selectors {
		selectors[i].Namespace = fmt.Sprintf("ns%d", i)
	}
}

// assertError checks err against want, where "" means no error.
func assertError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Errorf("error\n got: %s\nwant: %s", err, want)
	}
}
