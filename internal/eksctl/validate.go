package eksctl

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/fargo-dev/fargo/internal/profile"
)

// problems checks what a ClusterConfig means, once its shape is right:
// the cluster's name and network, then each profile in file order.
func (c *ClusterConfig) problems() []string {
	var problems []string
	if c.Metadata.Name == "" {
		problems = append(problems, "metadata.name is required: set the cluster's name")
	}
	vpc, vpcProblem := c.vpcPrefix()
	if vpcProblem != "" {
		problems = append(problems, vpcProblem)
	}
	seen := map[string]int{}
	for i, fp := range c.FargateProfiles {
		at := fmt.Sprintf("fargateProfiles[%d]", i)
		if fp.Name != "" {
			at += fmt.Sprintf(" %q", fp.Name)
		}
		for _, p := range fp.problems(c.Metadata.Name, vpc) {
			problems = append(problems, at+": "+p)
		}
		if first, dup := seen[fp.Name]; dup && fp.Name != "" {
			problems = append(problems, fmt.Sprintf("%s: the name is already used by fargateProfiles[%d]: profile names must be unique", at, first))
		} else {
			seen[fp.Name] = i
		}
	}
	return problems
}

// vpcPrefix returns vpc.cidr parsed, or an invalid prefix when it is not
// set, or a problem when it is not a CIDR range.
func (c *ClusterConfig) vpcPrefix() (netip.Prefix, string) {
	if c.VPC == nil || c.VPC.CIDR == "" {
		return netip.Prefix{}, ""
	}
	prefix, err := netip.ParsePrefix(c.VPC.CIDR)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("vpc.cidr %q is not a CIDR range: write it like 10.10.0.0/16", c.VPC.CIDR)
	}
	if masked := prefix.Masked(); masked != prefix {
		return netip.Prefix{}, fmt.Sprintf("vpc.cidr %q has host bits set: write %s", c.VPC.CIDR, masked)
	}
	return prefix, ""
}

// problems runs profile.Validate, the rules the apiserver's admission
// applies too, so that a bad file is refused before anything is created.
func (fp FargateProfile) problems(cluster string, vpc netip.Prefix) []string {
	p := fp.object(cluster)
	var problems []string
	if p.Name == "" {
		// profile.Validate asks for metadata.name, which in this file
		// is the cluster's name: say it in the file's terms and check
		// the rest under a stand-in name.
		problems = append(problems, "name is required: set the profile's name")
		p.Name = "unnamed"
	}
	var invalid *profile.InvalidError
	if err := profile.Validate(&p); errors.As(err, &invalid) {
		problems = append(problems, invalid.Problems...)
	} else if err != nil {
		problems = append(problems, err.Error())
	}
	return append(problems, outsideVPC(p.Spec.Subnets, vpc)...)
}

// outsideVPC refuses subnets outside the cluster's VPC, as EKS refuses
// subnets of another VPC. Subnets that are not CIDRs are left to
// profile.Validate.
func outsideVPC(subnets []string, vpc netip.Prefix) []string {
	if !vpc.IsValid() {
		return nil
	}
	var problems []string
	for _, s := range subnets {
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		if prefix.Bits() < vpc.Bits() || !vpc.Contains(prefix.Addr()) {
			problems = append(problems, fmt.Sprintf("subnet %q is outside vpc.cidr %s: use a range inside it", s, vpc))
		}
	}
	return problems
}
