package parser

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckRegexRefusesWhatRE2CannotRun(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`^(?<a>\w)\1$`, []string{`backreference (\1)`, "rewrite it without one"}},
		{`(?<q>["'])(?<v>.*)\k<q>`, []string{`named backreference (\k<q>)`}},
		{`(?<a>x)\g<a>`, []string{`subexpression call (\g<a>)`}},
		{`^(?<user>\w+)(?=@)`, []string{"lookahead ((?=...))", "match the text after"}},
		{`^(?<user>\w+)(?!@)`, []string{"lookahead ((?!...))"}},
		{`(?<=id=)(?<id>\d+)`, []string{"lookbehind ((?<=...))", "match the text before"}},
		{`(?<!x)(?<id>\d+)`, []string{"lookbehind ((?<!...))"}},
		{`^(?<n>\d*+)`, []string{"possessive quantifier (*+)", "drop the second +"}},
		{`^(?<n>\d++)`, []string{"possessive quantifier (++)"}},
		{`^(?<n>\d?+)`, []string{"possessive quantifier (?+)"}},
		{`(?>(?<a>x+))`, []string{"atomic group ((?>...))", "(?:...)"}},
		{`(?<a>x)(?(<a>)y|z)`, []string{"conditional group"}},
		{`\G(?<a>x)`, []string{`(\G)`}},
		{`(?<a>[a-z&&[^aeiou]])`, []string{"character class intersection (&&)"}},
		{`(?<a>[a-c[x-z]])`, []string{"nested character class"}},
		{`(?<a>[\H])`, []string{`non-hex-digit class inside [...] (\H)`}},
		{`/(?<a> x )/x`, []string{"extended mode (/x)"}},
		{`(?x)(?<a> x )`, []string{"extended mode ((?x))"}},
		{`(?<a>x`, []string{"does not compile in Go's RE2", "missing closing )"}},
	} {
		err := CheckRegex(tc.expr)
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
			t.Errorf("%s: %q does not name the Regex key", tc.expr, err)
		}
	}
}

func TestRubyRegexTranslation(t *testing.T) {
	for _, tc := range []struct {
		expr, text string
		want       map[string]any // nil: must not match
	}{
		{`^(?<hex>\h+)$`, "00ffAB", map[string]any{"hex": "00ffAB"}},
		{`^(?<hex>\h+)$`, "00fg", nil},
		{`^(?<hex>[\hx]+)$`, "0xff", map[string]any{"hex": "0xff"}},
		{`^(?<not>\H+)`, "ghij12", map[string]any{"not": "ghij"}},
		{`\A(?<a>\w+)\Z`, "abc\n", map[string]any{"a": "abc"}},
		{`\A(?<a>\w+)\Z`, "abc", map[string]any{"a": "abc"}},
		{`\A(?<a>\w+)\z`, "abc\n", nil},
		{`(?'name'\w+)`, "hi", map[string]any{"name": "hi"}},
		{`^(?<a>\d{,3})`, "12345", map[string]any{"a": "123"}},
		{`(?#a comment)^(?<a>x)`, "x", map[string]any{"a": "x"}},
		{`^(?<w>[[:alpha:]]+)`, "abc1", map[string]any{"w": "abc"}},
		{`(?m:^(?<all>a.b))`, "a\nb", map[string]any{"all": "a\nb"}}, // Ruby's m is dotall
		{`^(?<all>a.b)`, "a\nb", nil},
		{`/^(?<a>hello)$/i`, "HELLO", map[string]any{"a": "HELLO"}},
		{`/^(?<a>a.b)$/m`, "a\nb", map[string]any{"a": "a\nb"}},
		{`/^(?<a>x)$/`, "x", map[string]any{"a": "x"}},                                   // /.../ delimiters are stripped
		{`/var/log/(?<file>\S+)`, "/var/log/app.log", map[string]any{"file": "app.log"}}, // not delimiters: text follows the last /
		{`(?i:^(?<a>abc))`, "ABC", map[string]any{"a": "ABC"}},
		{`^(?<a>[]x]+)`, "]x]", map[string]any{"a": "]x]"}},
		{`^(?<a>\w+?)\e?`, "ab", map[string]any{"a": "a"}},
		{`^(?<ip>\S+) \/(?<path>\S*)`, "1.2.3.4 /x", map[string]any{"ip": "1.2.3.4", "path": "x"}},
	} {
		re, err := compileRuby(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		p := &regexParser{re: re, names: re.SubexpNames(), skipEmpty: true}
		fields, _, ok := p.Parse(tc.text)
		if tc.want == nil {
			if ok {
				t.Errorf("%s on %q: matched %v, want no match", tc.expr, tc.text, fields)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(fields, tc.want) {
			t.Errorf("%s on %q: %v %v, want %v", tc.expr, tc.text, fields, ok, tc.want)
		}
	}
}

// The validator and New give the same message; New names the parser.
func TestCheckRegexMatchesNew(t *testing.T) {
	expr := `^(?<a>x)(?=y)`
	checkErr := CheckRegex(expr)
	_, newErr := New(params("Name p", "Format regex", "Regex "+expr))
	if checkErr == nil || newErr == nil {
		t.Fatalf("CheckRegex %v, New %v", checkErr, newErr)
	}
	if newErr.Error() != `parser "p": `+checkErr.Error() {
		t.Errorf("New says %q, CheckRegex %q", newErr, checkErr)
	}
	if err := CheckRegex(`^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$`); err != nil {
		t.Errorf("the walkthrough regex is refused: %v", err)
	}
}
