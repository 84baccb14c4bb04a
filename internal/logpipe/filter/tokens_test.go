package filter

import (
	"strings"
	"testing"
)

func TestSplitTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		q    quoting
		want []string
	}{
		{`msg hello`, 2, slistQuotes, []string{"msg", "hello"}},
		{`msg "hello world"`, 2, slistQuotes, []string{"msg", "hello world"}},
		{`msg hello world`, 2, slistQuotes, []string{"msg", "hello", "world"}},
		{`msg "say \"hi\""`, 2, slistQuotes, []string{"msg", `say "hi"`}},
		{`$log "^a b$"  t  false`, 4, slistQuotes, []string{"$log", "^a b$", "t", "false"}},
		{`'my key' 'it\'s'`, 2, splitQuotes, []string{"my key", "it's"}},
		{`'my key' x`, 2, slistQuotes, []string{"'my", "key'", "x"}},
	} {
		got, err := splitTokens(tc.in, tc.max, tc.q)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitTokens(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := splitTokens(`msg "open`, 2, slistQuotes); err == nil {
		t.Error("an unclosed quote was accepted")
	}
}
