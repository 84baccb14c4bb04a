package parser

import (
	"testing"

	"github.com/fargo-dev/fargo/internal/logpipe/rubyregex"
)

// The validator (rubyregex.Check) and New give the same message; New
// names the parser.
func TestCheckRegexMatchesNew(t *testing.T) {
	expr := `^(?<a>x)(?=y)`
	checkErr := rubyregex.Check(expr)
	_, newErr := New(params("Name p", "Format regex", "Regex "+expr))
	if checkErr == nil || newErr == nil {
		t.Fatalf("rubyregex.Check %v, New %v", checkErr, newErr)
	}
	if newErr.Error() != `parser "p": `+checkErr.Error() {
		t.Errorf("New says %q, rubyregex.Check %q", newErr, checkErr)
	}
}
