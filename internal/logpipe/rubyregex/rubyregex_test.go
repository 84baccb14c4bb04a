package rubyregex

import (
	"maps"
	"strings"
	"testing"
)

func TestCheckRefusesWhatRE2CannotRun(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`^(?<a>\w)\1$`, []string{`backreference (\1)`, "rewrite it without one"}},
		{`(\w+) \1`, []string{`backreference (\1)`}},
		{`(?<q>["'])(?<v>.*)\k<q>`, []string{`named backreference (\k<q>)`}},
		{`(?<w>\w+) \k<w>`, []string{`named backreference (\k<w>)`}},
		{`(?<a>x)\g<a>`, []string{`subexpression call (\g<a>)`}},
		{`^(?<user>\w+)(?=@)`, []string{"lookahead ((?=...))", "match the text after"}},
		{`^(?<user>\w+)(?!@)`, []string{"lookahead ((?!...))"}},
		{`(?<=id=)(?<id>\d+)`, []string{"lookbehind ((?<=...))", "match the text before"}},
		{`(?<!x)(?<id>\d+)`, []string{"lookbehind ((?<!...))"}},
		{`^(?<n>\d*+)`, []string{"possessive quantifier (*+)", "drop the second +"}},
		{`^(?<n>\d++)`, []string{"possessive quantifier (++)"}},
		{`^(?<n>\d?+)`, []string{"possessive quantifier (?+)"}},
		{`a++`, []string{"possessive quantifier (++)", "Go's RE2"}},
		{`(?>(?<a>x+))`, []string{"atomic group ((?>...))", "(?:...)"}},
		{`(?>a+)b`, []string{"atomic group ((?>...))"}},
		{`(?~abc)`, []string{"absence operator ((?~...))"}},
		{`(?<a>x)(?(<a>)y|z)`, []string{"conditional group"}},
		{`\G(?<a>x)`, []string{`(\G)`}},
		{`(?<a>[a-z&&[^aeiou]])`, []string{"character class intersection (&&)"}},
		{`(?<a>[a-c[x-z]])`, []string{"nested character class"}},
		{`(?<a>[\H])`, []string{`non-hex-digit class inside [...] (\H)`}},
		{`/(?<a> x )/x`, []string{"extended mode (/x)"}},
		{`/a b/x`, []string{"extended mode (/x)", "remove its spaces"}},
		{`(?x)(?<a> x )`, []string{"extended mode ((?x))"}},
		{`(?<a>x`, []string{"does not compile in Go's RE2", "missing closing )"}},
	} {
		err := Check(tc.expr)
		if err == nil {
			t.Errorf("%s: accepted", tc.expr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.expr, err, w)
			}
		}
		if !strings.Contains(err.Error(), "Regex") {
			t.Errorf("%s: %q does not name the Regex", tc.expr, err)
		}
	}
}

// namedMatches returns the named groups of re's first match in text that
// matched something, as Fluent Bit's regex parser makes fields of them.
func namedMatches(t *testing.T, expr, text string) (map[string]string, bool) {
	t.Helper()
	re, err := Compile(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	m := re.FindStringSubmatch(text)
	if m == nil {
		return nil, false
	}
	fields := map[string]string{}
	for i, name := range re.SubexpNames() {
		if name != "" && m[i] != "" {
			fields[name] = m[i]
		}
	}
	return fields, true
}

func TestCompileReadsRubySyntax(t *testing.T) {
	for _, tc := range []struct {
		expr, text string
		want       map[string]string // nil: must not match; empty: must match
	}{
		{`^(?<level>ERROR|WARN) `, "WARN disk full", map[string]string{"level": "WARN"}},
		{`boom$`, "ERROR boom\nnext line", map[string]string{}}, // Ruby's $ ends every line
		{`^next`, "ERROR boom\nnext line", map[string]string{}}, // and ^ starts every line
		{`^(?<hex>\h+)$`, "00ffAB", map[string]string{"hex": "00ffAB"}},
		{`^(?<hex>\h+)$`, "00fg", nil},
		{`^(?<hex>[\hx]+)$`, "0xff", map[string]string{"hex": "0xff"}},
		{`^(?<h>[\h-]+)$`, "ab-12", map[string]string{"h": "ab-12"}},
		{`^(?<not>\H+)`, "ghij12", map[string]string{"not": "ghij"}},
		{`\A(?<a>\w+)\Z`, "abc\n", map[string]string{"a": "abc"}}, // \Z allows one final newline
		{`\A(?<a>\w+)\Z`, "abc", map[string]string{"a": "abc"}},
		{`end\Z`, "the end\n", map[string]string{}},
		{`\A(?<a>\w+)\z`, "abc\n", nil},
		{`(?'name'\w+)`, "hi", map[string]string{"name": "hi"}},
		{`^(?<a>\d{,3})`, "12345", map[string]string{"a": "123"}},
		{`(?#a comment)^(?<a>x)`, "x", map[string]string{"a": "x"}},
		{`^(?<w>[[:alpha:]]+)`, "abc1", map[string]string{"w": "abc"}},
		{`(?m:^(?<all>a.b))`, "a\nb", map[string]string{"all": "a\nb"}}, // Ruby's m is dotall
		{`^(?<all>a.b)`, "a\nb", nil},
		{`a.b`, "a\nb", nil},
		{`/^(?<a>hello)$/i`, "HELLO", map[string]string{"a": "HELLO"}},
		{`/error/i`, "ERROR: x", map[string]string{}},
		{`/^(?<a>a.b)$/m`, "a\nb", map[string]string{"a": "a\nb"}},
		{`/a.b/m`, "a\nb", map[string]string{}},
		{`/^(?<a>x)$/`, "x", map[string]string{"a": "x"}},                                   // /.../ delimiters are stripped
		{`/var/log/(?<file>\S+)`, "/var/log/app.log", map[string]string{"file": "app.log"}}, // not delimiters: text follows the last /
		{`/var/log`, "/var/log/containers", map[string]string{}},                            // not an option suffix
		{`(?i:^(?<a>abc))`, "ABC", map[string]string{"a": "ABC"}},
		{`^(?<a>[]x]+)`, "]x]", map[string]string{"a": "]x]"}},
		{`^(?<a>\w+?)\e?`, "ab", map[string]string{"a": "a"}},
		{`^(?<ip>\S+) \/(?<path>\S*)`, "1.2.3.4 /x", map[string]string{"ip": "1.2.3.4", "path": "x"}},
		{`\\1`, `a\1`, map[string]string{}}, // an escaped backslash, not a backreference
	} {
		fields, ok := namedMatches(t, tc.expr, tc.text)
		if tc.want == nil {
			if ok {
				t.Errorf("%s on %q: matched %v, want no match", tc.expr, tc.text, fields)
			}
			continue
		}
		if !ok || !maps.Equal(fields, tc.want) {
			t.Errorf("%s on %q: %v %v, want %v", tc.expr, tc.text, fields, ok, tc.want)
		}
	}
}

func TestCheckAcceptsTheWalkthroughRegex(t *testing.T) {
	if err := Check(`^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$`); err != nil {
		t.Errorf("the walkthrough regex is refused: %v", err)
	}
}
