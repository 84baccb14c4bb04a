package awslogging

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text under each key: Parse must not panic,
// must return a config or an *InvalidError (never both), and every problem
// must say where it is.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{eksOutput, eksFilters, eksParsers, "[OUTPUT\n", "[]\n  a\n", "@SET a=b\n", "  x ${Y\n", "\t[FILTER]\n \tName grep\n"} {
		f.Add(KeyOutput, seed)
		f.Add(KeyFilters, seed)
	}
	f.Fuzz(func(t *testing.T, key, text string) {
		c, err := Parse(map[string]string{key: text, KeyParsers: text})
		if err == nil {
			if c == nil || len(c.Outputs) == 0 {
				t.Fatalf("valid config without outputs: %+v", c)
			}
			return
		}
		var invalid *InvalidError
		if c != nil || !errors.As(err, &invalid) || len(invalid.Problems) == 0 {
			t.Fatalf("Parse = %+v, %v", c, err)
		}
		for _, p := range invalid.Problems {
			if !strings.Contains(p, " line ") && !strings.HasPrefix(p, "key ") && !strings.HasPrefix(p, "no [OUTPUT]") &&
				!strings.HasPrefix(p, "the configmap has") && !strings.HasPrefix(p, KeyFlbLogCW) {
				t.Errorf("problem without a place: %q", p)
			}
		}
	})
}
