package conformance

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// Outcome is what became of one spec.
type Outcome string

const (
	Passed Outcome = "passed"
	Failed Outcome = "failed"
	// NotApplicable is a spec whose pod asks for what Fargate refuses:
	// the pod stayed Pending with fargate-scheduler's FailedScheduling
	// reason, as on EKS.
	NotApplicable Outcome = "not applicable"
	Skipped       Outcome = "skipped"
)

// Result is one spec's outcome.
type Result struct {
	Name    string
	Outcome Outcome
	// Reason is why it failed, or what Fargate refused.
	Reason  string
	RunTime time.Duration
}

// refusals are how a spec whose pods ask for what Fargate refuses ends,
// and the reason RESULTS.md gives: the fargate-scheduler's FailedScheduling
// text (quoted); the kubelet's rejection of a pod bound to a pod-node that
// holds another pod (a pod-node has capacity for one); or the suite finding
// no node it counts as schedulable, since it counts no tainted node and
// every pod-node carries Fargate's NoSchedule taint, as on EKS.
var refusals = []struct {
	re     *regexp.Regexp
	reason string // "" quotes the match
}{
	{regexp.MustCompile(`Pod not supported on Fargate: [^"\n\\]*`), ""},
	{regexp.MustCompile(`Pod was rejected: Node didn't have enough resource: pods[^"\n\\]*`), ""},
	{regexp.MustCompile(`there are currently no ready, schedulable nodes in the cluster`),
		"needs an untainted node (to pin a second pod to, or to watch): the suite counts no tainted node as schedulable, " +
			"and every pod-node carries eks.amazonaws.com/compute-type=fargate:NoSchedule and holds one pod, as on EKS"},
}

// readReport turns ginkgo's JSON report into results.
func readReport(path string) ([]Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, err
	}
	var out []Result
	for _, rep := range reports {
		for _, s := range rep.SpecReports {
			// Specs the focus left out are reported skipped, with no
			// message and no run time; only those that ran count.
			if s.LeafNodeType != types.NodeTypeIt || (s.State.Is(types.SpecStateSkipped) && s.Failure.Message == "" && s.RunTime == 0) {
				continue
			}
			out = append(out, classify(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func classify(s types.SpecReport) Result {
	r := Result{Name: s.FullText(), RunTime: s.RunTime}
	switch {
	case s.State.Is(types.SpecStatePassed):
		r.Outcome = Passed
	case s.State.Is(types.SpecStateSkipped | types.SpecStatePending):
		r.Outcome, r.Reason = Skipped, firstLine(s.Failure.Message)
	default:
		r.Outcome, r.Reason = Failed, firstLine(s.Failure.Message)
		out := s.CapturedGinkgoWriterOutput + s.CapturedStdOutErr + s.Failure.Message
		for _, ref := range refusals {
			if m := ref.re.FindString(out); m != "" {
				r.Outcome, r.Reason = NotApplicable, cmp.Or(ref.reason, strings.TrimSpace(m))
				break
			}
		}
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Counts tallies results by outcome.
func Counts(results []Result) map[Outcome]int {
	n := map[Outcome]int{}
	for _, r := range results {
		n[r.Outcome]++
	}
	return n
}

// WriteTable prints the results as RESULTS.md has them: the counts, then
// one row per spec that did not pass, then the passed ones.
func WriteTable(w io.Writer, results []Result) {
	n := Counts(results)
	fmt.Fprintf(w, "| outcome | specs |\n|---|---|\n")
	for _, o := range []Outcome{Passed, Failed, NotApplicable, Skipped} {
		fmt.Fprintf(w, "| %s | %d |\n", o, n[o])
	}
	for _, o := range []Outcome{Failed, NotApplicable, Skipped, Passed} {
		if n[o] == 0 {
			continue
		}
		fmt.Fprintf(w, "\n### %s (%d)\n\n", o, n[o])
		if o == Passed {
			fmt.Fprintf(w, "| spec | time |\n|---|---|\n")
		} else {
			fmt.Fprintf(w, "| spec | reason |\n|---|---|\n")
		}
		for _, r := range results {
			if r.Outcome != o {
				continue
			}
			detail := r.Reason
			if o == Passed {
				detail = r.RunTime.Round(100 * time.Millisecond).String()
			}
			fmt.Fprintf(w, "| %s | %s |\n", cell(r.Name), cell(detail))
		}
	}
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
