package profile

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// InvalidError lists every rule a profile breaks, in a fixed order: name,
// selectors (in order), subnets (in order), tags (by key), then the rules
// that involve other profiles. Each problem names the rule and the fix.
type InvalidError struct {
	Profile  string
	Problems []string
}

// Error reads `fargate profile "NAME": problem; problem`.
func (e *InvalidError) Error() string {
	return fmt.Sprintf("fargate profile %q: %s", e.Profile, strings.Join(e.Problems, "; "))
}

// invalid returns nil when there are no problems, so that callers can write
// `return invalid(name, problems)`.
func invalid(name string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return &InvalidError{Profile: name, Problems: problems}
}

// privateRanges are the only address ranges a profile's subnets may use: the
// RFC 1918 ranges and the RFC 6598 shared range, as the spec lists them.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

const privateRangesText = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"

// Validate checks the rules that concern one profile alone. It returns an
// *InvalidError listing all problems, or nil.
func Validate(p *v1.FargateProfile) error {
	return invalid(p.Name, objectProblems(p))
}

func objectProblems(p *v1.FargateProfile) []string {
	var problems []string
	problems = append(problems, nameProblems(p.Name)...)
	problems = append(problems, selectorProblems(p.Spec.Selectors)...)
	problems = append(problems, subnetProblems(p.Spec.Subnets)...)
	problems = append(problems, tagProblems(p.Spec.Tags)...)
	problems = append(problems, tierProblems(p.Spec.Tier)...)
	problems = append(problems, secretNameProblems(p.Spec.LoggingCredentialsSecret)...)
	return problems
}

// secretNameProblems checks loggingCredentialsSecret, a Secret's name.
func secretNameProblems(name string) []string {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return []string{fmt.Sprintf("loggingCredentialsSecret %q is not a Secret name: %s", name, strings.Join(errs, "; "))}
	}
	return nil
}

func tierProblems(tier string) []string {
	if tier == "" || slices.Contains(v1.TierKinds, tier) {
		return nil
	}
	return []string{fmt.Sprintf("tier %q is not a sandbox tier: use one of %s, or leave it empty for the host's default", tier, strings.Join(v1.TierKinds, ", "))}
}

func nameProblems(name string) []string {
	if name == "" {
		return []string{"name is required: set metadata.name"}
	}
	var problems []string
	if len(name) > v1.MaxNameLength {
		problems = append(problems, fmt.Sprintf("name is %d characters: at most %d are allowed", len(name), v1.MaxNameLength))
	}
	if strings.HasPrefix(name, v1.NamePrefixReserved) {
		problems = append(problems, fmt.Sprintf("name must not start with %q", v1.NamePrefixReserved))
	}
	// The apiserver refuses such names too, but the CLI validates a
	// ClusterConfig before it sends anything, so say it here in our words.
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		problems = append(problems, "name must consist of lower case letters, digits, '-' and '.', and start and end with a letter or digit")
	}
	return problems
}

// selectorProblems numbers selectors from 1, as a user counts them.
func selectorProblems(selectors []v1.Selector) []string {
	var problems []string
	switch n := len(selectors); {
	case n == 0:
		problems = append(problems, "has no selectors: at least 1 is required")
	case n > v1.MaxSelectors:
		problems = append(problems, fmt.Sprintf("has %d selectors: at most %d are allowed", n, v1.MaxSelectors))
	}
	for i, s := range selectors {
		if s.Namespace == "" {
			problems = append(problems, fmt.Sprintf("selector %d has no namespace: namespace is required", i+1))
		}
		if n := len(s.Labels); n > v1.MaxLabelsPerSelector {
			problems = append(problems, fmt.Sprintf("selector %d has %d labels: at most %d are allowed", i+1, n, v1.MaxLabelsPerSelector))
		}
	}
	return problems
}

func subnetProblems(subnets []string) []string {
	var problems []string
	for _, s := range subnets {
		if problem := subnetProblem(s); problem != "" {
			problems = append(problems, problem)
		}
	}
	return problems
}

// subnetProblem refuses host bits (10.0.0.1/8) instead of masking them: the
// range is handed to IPAM as written, and a typo there should not silently
// become a different range.
func subnetProblem(s string) string {
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Sprintf("subnet %q is not a CIDR range: write it like 10.10.0.0/20", s)
	}
	if masked := prefix.Masked(); masked != prefix {
		return fmt.Sprintf("subnet %q has host bits set: write %s", s, masked)
	}
	for _, r := range privateRanges {
		if prefix.Addr().Is4() && r.Bits() <= prefix.Bits() && r.Contains(prefix.Addr()) {
			return ""
		}
	}
	return fmt.Sprintf("subnet %q is not inside a private range: use a range inside %s", s, privateRangesText)
}

// tagProblems counts characters, not bytes, as AWS does.
func tagProblems(tags map[string]string) []string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n == 0 {
			problems = append(problems, fmt.Sprintf("tag key is empty: tag keys must be 1 to %d characters", v1.MaxTagKeyLength))
		} else if n > v1.MaxTagKeyLength {
			problems = append(problems, fmt.Sprintf("tag key %q is %d characters: at most %d are allowed", k, n, v1.MaxTagKeyLength))
		}
		if n := utf8.RuneCountInString(tags[k]); n > v1.MaxTagValueLength {
			problems = append(problems, fmt.Sprintf("tag %q has a value of %d characters: at most %d are allowed", k, n, v1.MaxTagValueLength))
		}
	}
	return problems
}
