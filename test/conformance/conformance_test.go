package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	full    = flag.Bool("full", false, "run every [NodeConformance] spec and write -results (make conformance)")
	results = flag.String("results", "RESULTS.md", "where the full run writes its table")
	procs   = flag.Int("procs", 6, "specs run at once")
	focus   = flag.String("focus", "", "run only the specs this ginkgo regular expression selects, with the full run's reporting")
	tier    = flag.String("tier", "", "the sandbox tier to run pods on (fargo up --tier); empty for the host's default")
	tools   = flag.String("tools", "bin", "where e2e.test, ginkgo, agnhost and nnp are built")
)

// quick are specs that failed on fargo before node conformance was
// worked on, one or two of each kind: termination messages, init
// containers' readiness, activeDeadlineSeconds, and the logs a spec
// reads through the kubelet API. They run in `make test`.
var quick = []string{
	`Container Runtime blackbox test on terminated container should report termination message from log output if TerminationMessagePolicy FallbackToLogsOnError is set`,
	`Container Runtime blackbox test on terminated container should report termination message if TerminationMessagePath is set as non-root user and at a non-default path`,
	`Container Runtime blackbox test on terminated container should report termination message as empty when pod succeeds`,
	`InitContainer \[NodeConformance\] should invoke init containers on a RestartNever pod`,
	`InitContainer \[NodeConformance\] should invoke init containers on a RestartAlways pod`,
	`Pods should allow activeDeadlineSeconds to be updated`,
	`Kubelet when scheduling a busybox command in a pod should print the output to logs`,
}

// TestNodeConformanceQuick runs the quick specs: a few minutes.
func TestNodeConformanceQuick(t *testing.T) {
	if *full || *focus != "" {
		t.Skip("skipped: -full or -focus runs TestNodeConformance instead")
	}
	bin := BuildTools(t, *tools)
	srv := Cluster(t, bin, tierFlags()...)
	res := Run{Focus: strings.Join(quick, "|"), Procs: 4, Timeout: 15 * time.Minute}.Suite(t, bin, srv)
	if len(res) < len(quick) {
		t.Errorf("%d specs ran, want at least %d (one per name in quick): a spec was renamed?", len(res), len(quick))
	}
	check(t, res)
}

// TestNodeConformance runs every applicable [NodeConformance] spec and
// writes the table to -results (make conformance).
func TestNodeConformance(t *testing.T) {
	if !*full && *focus == "" {
		t.Skip("skipped: the whole suite takes about half an hour; run it with `make conformance` (-full)")
	}
	started := time.Now()
	bin := BuildTools(t, *tools)
	srv := Cluster(t, bin, tierFlags()...)
	f := `\[NodeConformance\]`
	if *focus != "" {
		f = *focus
	}
	// The report and ginkgo's log stay beside the tools, for a look at
	// what failed.
	res := Run{Focus: f, Procs: *procs, Timeout: 2 * time.Hour, Output: filepath.Join(*tools, "last-run")}.Suite(t, bin, srv)
	var table bytes.Buffer
	WriteTable(&table, res)
	t.Logf("\n%s", table.String())
	if *full {
		writeResults(t, res, table.String(), time.Since(started))
	}
	check(t, res)
}

func tierFlags() []string {
	if *tier == "" {
		return nil
	}
	return []string{"--tier", *tier}
}

func check(t *testing.T, res []Result) {
	t.Helper()
	for _, r := range res {
		if r.Outcome == Failed {
			t.Errorf("FAILED %s\n    %s", r.Name, r.Reason)
		}
	}
	n := Counts(res)
	t.Logf("passed %d, failed %d, not applicable %d, skipped %d", n[Passed], n[Failed], n[NotApplicable], n[Skipped])
}

func writeResults(t *testing.T, res []Result, table string, took time.Duration) {
	t.Helper()
	n := Counts(res)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Node conformance of fargo\n\n")
	fmt.Fprintf(&b, "Upstream's `[NodeConformance]` specs (k8s.io/kubernetes/test/e2e at the version fargo embeds),\n")
	fmt.Fprintf(&b, "less `[Serial]`, `[Disruptive]`, `[Flaky]`, `[Feature:*]`, `[Alpha]` and `[Beta]`, against `fargo up`\n")
	fmt.Fprintf(&b, "with a catch-all profile (namespace `*`), so every spec's pods run on pod-nodes.\n\n")
	fmt.Fprintf(&b, "- Command: `make conformance`")
	if *tier != "" {
		fmt.Fprintf(&b, " with `CONFORMANCE_TIER=%s`", *tier)
	}
	fmt.Fprintf(&b, "\n- Date: %s; %s/%s, %d cores; %d specs at once\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *procs)
	fmt.Fprintf(&b, "- Result: %d passed, %d failed, %d not applicable, %d skipped by the suite itself; wall time %s\n\n",
		n[Passed], n[Failed], n[NotApplicable], n[Skipped], took.Round(time.Second))
	fmt.Fprintf(&b, "Not applicable means the spec's pod asks for what EKS Fargate refuses; fargo refuses it the same way\n")
	fmt.Fprintf(&b, "(Pending, Warning `FailedScheduling` from fargate-scheduler), and the reason column quotes that event.\n\n")
	b.WriteString(table)
	if err := os.WriteFile(*results, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
