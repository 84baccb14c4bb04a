package filter

import (
	"strings"
	"testing"
)

// The translation itself is tested in package rubyregex; here, that
// filters get it and that their errors name the place.
func TestCompileRegexReadsRubySyntax(t *testing.T) {
	re, err := compileRegex("test", `/^(?<level>error)$/i`)
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString("WARN x\nERROR") {
		t.Errorf("%s does not match an upper-case level on the second line", re)
	}
}

func TestCompileRegexNamesThePlace(t *testing.T) {
	_, err := compileRegex(`grep: Regex log foo(?=bar)`, `foo(?=bar)`)
	if err == nil {
		t.Fatal("a lookahead was accepted")
	}
	if !strings.HasPrefix(err.Error(), "grep: Regex log foo(?=bar): ") || !strings.Contains(err.Error(), "lookahead") {
		t.Errorf("compileRegex = %q, want it to name the place and say lookahead", err)
	}
}
