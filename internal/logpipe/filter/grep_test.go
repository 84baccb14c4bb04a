package filter

import (
	"testing"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// kept runs a filter over log lines and returns the ones that pass.
func keptLogs(t *testing.T, f logpipe.Filter, lines ...string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		for _, r := range f.Filter(rec(webTag, map[string]any{"log": l})) {
			out = append(out, r.Fields["log"].(string))
		}
	}
	return out
}

func TestGrepRegexKeepsMatchingRecords(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "grep", "Match", "kube.*", "Regex", "log ^(?<level>ERROR|WARN) ")
	got := keptLogs(t, f, "ERROR db down", "INFO ok", "WARN slow", "error lower case")
	wantStrings(t, got, "ERROR db down", "WARN slow")

	// A missing key or a value that is not a string never matches.
	if out := f.Filter(rec(webTag, map[string]any{"msg": "ERROR x"})); len(out) != 0 {
		t.Errorf("record without log kept: %v", out)
	}
	if out := f.Filter(rec(webTag, map[string]any{"log": 500.0})); len(out) != 0 {
		t.Errorf("numeric log kept: %v", out)
	}
}

func TestGrepExcludeOnNestedKey(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "grep", "Exclude", "$kubernetes['labels']['app'] ^myapp$")
	mine := rec(webTag, map[string]any{"log": "x", "kubernetes": map[string]any{"labels": map[string]any{"app": "myapp"}}})
	other := rec(webTag, map[string]any{"log": "y", "kubernetes": map[string]any{"labels": map[string]any{"app": "web"}}})
	if out := f.Filter(mine); len(out) != 0 {
		t.Errorf("record of app myapp kept")
	}
	if out := f.Filter(other); len(out) != 1 {
		t.Errorf("record of app web dropped")
	}
	// No key: nothing to exclude on.
	if out := f.Filter(rec(webTag, map[string]any{"log": "z"})); len(out) != 1 {
		t.Errorf("record without labels dropped")
	}
}

// Fluent Bit's legacy mode walks the rules in order: the first Regex that
// matches keeps the record without looking further, which is why its
// docs say to put Exclude first and use a single Regex.
func TestGrepLegacyFollowsFluentBitRuleOrder(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "grep",
		"Exclude", "log healthz",
		"Regex", "log ^GET",
		"Regex", "log 200$")
	got := keptLogs(t, f, "GET /healthz 200", "GET /index 500", "POST /index 200", "GET /index 200")
	wantStrings(t, got, "GET /index 500", "GET /index 200")

	// An Exclude after a matching Regex is never reached.
	f = mustNew(t, Deps{}, "Name", "grep", "Regex", "log ^GET", "Exclude", "log healthz")
	wantStrings(t, keptLogs(t, f, "GET /healthz", "POST /x"), "GET /healthz")
}

func TestGrepLogicalOp(t *testing.T) {
	or := mustNew(t, Deps{}, "Name", "grep", "Logical_Op", "or", "Regex", "log ERROR", "Regex", "log WARN")
	wantStrings(t, keptLogs(t, or, "ERROR a", "WARN b", "INFO c"), "ERROR a", "WARN b")

	and := mustNew(t, Deps{}, "Name", "grep", "Logical_Op", "AND", "Regex", "log ERROR", "Regex", "log db")
	wantStrings(t, keptLogs(t, and, "ERROR db", "ERROR api", "INFO db"), "ERROR db")

	exAnd := mustNew(t, Deps{}, "Name", "grep", "Logical_Op", "and", "Exclude", "log GET", "Exclude", "log healthz")
	wantStrings(t, keptLogs(t, exAnd, "GET /healthz", "GET /index", "POST /healthz"), "GET /index", "POST /healthz")

	exOr := mustNew(t, Deps{}, "Name", "grep", "Logical_Op", "or", "Exclude", "log GET", "Exclude", "log healthz")
	wantStrings(t, keptLogs(t, exOr, "GET /healthz", "GET /index", "POST /healthz", "POST /x"), "POST /x")
}

func TestGrepRefusesBadConfig(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "grep", "Logical_Op", "and", "Regex", "log a", "Exclude", "log b"),
		"grep", "Regex and Exclude")
	wantErrHas(t, newErr(t, Deps{}, "Name", "grep", "Regex", "log"), "grep", "KEY and a REGEX")
	wantErrHas(t, newErr(t, Deps{}, "Name", "grep", "Regex", `log (\w+) \1`), "grep", "backreference", `log (\w+) \1`)
	wantErrHas(t, newErr(t, Deps{}, "Name", "grep", "Logical_Op", "xor", "Regex", "log a"), "grep", "Logical_Op")
}

func wantStrings(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %q, want %q", got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
			return
		}
	}
}
