package conformance

import (
	"bytes"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func TestClassify(t *testing.T) {
	spec := func(state types.SpecState, output, failure string) types.SpecReport {
		return types.SpecReport{
			LeafNodeType: types.NodeTypeIt, LeafNodeText: "a spec", State: state,
			CapturedGinkgoWriterOutput: output, Failure: types.Failure{Message: failure},
		}
	}
	tests := []struct {
		name       string
		report     types.SpecReport
		want       Outcome
		wantReason string
	}{
		{"passed", spec(types.SpecStatePassed, "", ""), Passed, ""},
		{"failed", spec(types.SpecStateFailed, "", "expected 1\ngot 2"), Failed, "expected 1"},
		{"timed out", spec(types.SpecStateTimedout, "", "timed out"), Failed, "timed out"},
		{"refused by fargate-scheduler", spec(types.SpecStateFailed,
			`FailedScheduling: Pod not supported on Fargate: fields not supported: HostNetwork`+"\n", "pod not running"),
			NotApplicable, "Pod not supported on Fargate: fields not supported: HostNetwork"},
		{"rejected by a pod-node holding another pod", spec(types.SpecStateFailed,
			`message: "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"`, "failed"),
			NotApplicable, "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"},
		{"no node to pin a second pod to", spec(types.SpecStateFailed, "", "there are currently no ready, schedulable nodes in the cluster"),
			NotApplicable, refusals[2].reason},
		{"skipped by the suite", spec(types.SpecStateSkipped, "", "no windows nodes"), Skipped, "no windows nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.report)
			if got.Outcome != tt.want || got.Reason != tt.wantReason {
				t.Fatalf("%s %q, want %s %q", got.Outcome, got.Reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, []Result{{Name: "a | b", Outcome: Failed, Reason: "x"}, {Name: "c", Outcome: Passed}})
	out := b.String()
	for _, want := range []string{"| passed | 1 |", "| failed | 1 |", `| a \| b | x |`, "### failed (1)", "### passed (1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
