package profile

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"*", "", true},
		{"*", "anything/at.all", true},
		{"**", "", true},
		{"**", "abc", true},
		{"a**c", "abc", true},
		{"?", "", false},
		{"?", "a", true},
		{"?", "ab", false},
		{"??", "ab", true},
		{"?*", "", false},
		{"?*", "a", true},
		{"*?", "", false},
		{"*?", "abc", true},
		{"prod-*", "prod-", true},
		{"prod-*", "prod-eu", true},
		{"prod-*", "production", false},
		{"*-prod", "eu-prod", true},
		{"*-prod", "eu-prod-2", false},
		{"team-?", "team-a", true},
		{"team-?", "team-ab", false},
		{"team-?", "team-", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "abcabc", true},
		{"a*b*c", "acb", false},
		{"*a*a*a*", "banana", true},
		{"*a*a*a*a*", "banana", false},
		{"*/name", "app.kubernetes.io/name", true}, // * crosses /, unlike path.Match
		{"[abc]", "[abc]", true},                   // [ is literal, no character class
		{"[abc]", "a", false},
		{"[", "[", true},
		{`a\*`, `a\x`, true}, // \ is literal and escapes nothing
		{`a\*`, "a*", false},
		{"?", "é", true}, // ? is one character, not one byte
		{"??", "é", false},
		{"é*", "été", true},
		{"Prod", "prod", false}, // case matters
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" vs "+tt.s, func(t *testing.T) {
			if got := globMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// globRegexp is the reference: * is .*, ? is ., everything else is literal.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func TestGlobMatchAgreesWithRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	patternAlphabet := []string{"a", "b", "*", "?", "[", `\`, "é", "-"}
	textAlphabet := []string{"a", "b", "[", `\`, "é", "-"}
	for range 20000 {
		pattern := randomString(rng, patternAlphabet, 7)
		s := randomString(rng, textAlphabet, 8)
		if got, want := globMatch(pattern, s), globRegexp(pattern).MatchString(s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	}
}

func randomString(rng *rand.Rand, alphabet []string, maxLen int) string {
	var b strings.Builder
	for range rng.IntN(maxLen + 1) {
		b.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}
