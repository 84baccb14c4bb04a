package awslogging

import (
	"fmt"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe/rubyregex"
)

// fargoOwnedKubernetesKeys are the kubernetes filter's keys that say how
// to reach the API server. fargo sets them; a user's value would point the
// router at another server, with fargo's credentials.
var fargoOwnedKubernetesKeys = []string{"Kube_URL", "Kube_CA_File", "Kube_Token_Command", "Kube_Token_File"}

// paramProblems checks the values of a section that EKS checks at apply
// time: keys fargo owns, and parser regexes Go's regexp engine cannot run.
func paramProblems(s *Section) []lineProblem {
	name, _ := s.Get("Name")
	var problems []lineProblem
	switch {
	case s.Kind == KindFilter && strings.EqualFold(name, "kubernetes"):
		for _, p := range s.Params {
			for _, owned := range fargoOwnedKubernetesKeys {
				if strings.EqualFold(p.Key, owned) {
					problems = append(problems, lineProblem{line: p.Line,
						text: fmt.Sprintf("%s is set by fargo for the kubernetes filter: remove it", owned)})
				}
			}
		}
	case s.Kind == KindParser:
		for _, p := range s.Params {
			if strings.EqualFold(p.Key, "Regex") {
				if err := rubyregex.Check(p.Value); err != nil {
					problems = append(problems, lineProblem{line: p.Line, text: err.Error()})
				}
			}
		}
	}
	return problems
}
