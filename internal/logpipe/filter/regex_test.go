package filter

import (
	"strings"
	"testing"
)

func TestCompileRegexReadsRubySyntax(t *testing.T) {
	for _, tc := range []struct {
		pattern, text string
		want          bool
	}{
		{`^(?<level>ERROR|WARN) `, "WARN disk full", true},
		{`boom$`, "ERROR boom\nnext line", true}, // Ruby's $ ends every line
		{`^next`, "ERROR boom\nnext line", true},
		{`^\h+$`, "0123abcd", true},
		{`^\h+$`, "0123abcz", false},
		{`[\h-]+`, "ab-12", true},
		{`/error/i`, "ERROR: x", true},
		{`/a.b/m`, "a\nb", true}, // Ruby's m lets . match a newline
		{`a.b`, "a\nb", false},
		{`/var/log`, "/var/log/containers", true}, // not an option suffix
		{`\\1`, `a\1`, true},                      // an escaped backslash, not a backreference
	} {
		re, err := compileRegex("test", tc.pattern)
		if err != nil {
			t.Errorf("compileRegex(%q): %v", tc.pattern, err)
			continue
		}
		if got := re.MatchString(tc.text); got != tc.want {
			t.Errorf("%q on %q = %v, want %v", tc.pattern, tc.text, got, tc.want)
		}
	}
}

func TestCompileRegexRefusesWhatRE2CannotRun(t *testing.T) {
	for _, tc := range []struct{ pattern, says string }{
		{`(\w+) \1`, "backreference"},
		{`(?<w>\w+) \k<w>`, "backreference"},
		{`foo(?=bar)`, "lookahead"},
		{`foo(?!bar)`, "lookahead"},
		{`(?<=foo)bar`, "lookbehind"},
		{`(?<!foo)bar`, "lookbehind"},
		{`(?>a+)b`, "atomic"},
		{`end\Z`, `\z`},
		{`/a b/x`, "extended"},
		{`a++`, "RE2"},
	} {
		_, err := compileRegex(`grep: Regex log `+tc.pattern, tc.pattern)
		if err == nil {
			t.Errorf("compileRegex(%q) accepted it", tc.pattern)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "grep: Regex log") {
			t.Errorf("compileRegex(%q) = %q, want it to name the place and say %q", tc.pattern, err, tc.says)
		}
	}
}

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
