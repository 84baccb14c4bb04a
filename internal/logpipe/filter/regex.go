package filter

import (
	"fmt"
	"regexp"

	"github.com/fargo-dev/fargo/internal/logpipe/rubyregex"
)

// compileRegex compiles a regular expression written for Fluent Bit
// (Onigmo, Ruby syntax) on Go's RE2, as package rubyregex does; what
// names the place for errors (`grep: Regex "log ^x("`), since the same
// pattern text may appear under several keys.
func compileRegex(what, pattern string) (*regexp.Regexp, error) {
	re, err := rubyregex.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return re, nil
}
