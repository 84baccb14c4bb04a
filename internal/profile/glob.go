package profile

import (
	"strings"
	"unicode/utf8"
)

// hasWildcard reports whether a selector string uses * or ?.
func hasWildcard(pattern string) bool {
	return strings.ContainsAny(pattern, "*?")
}

// globMatch reports whether s matches pattern, where * stands for zero or more
// characters and ? for exactly one; every other character, including [ and \,
// stands for itself. That is the whole EKS selector syntax: no escapes, no
// character classes, no regular expressions. path.Match and filepath.Match
// are not used because they give [ and \ a meaning, and they treat / as a
// separator that * does not cross, which label keys like app.kubernetes.io/name
// would trip over. Since * and ? cannot occur in namespaces, label keys or
// label values, the lack of an escape loses nothing.
//
// Characters are runes, so ? consumes one whole UTF-8 character. The search is
// the classic greedy one that backtracks only to the last *, which is correct
// for this syntax and runs in O(len(pattern) * len(s)) without recursion.
func globMatch(pattern, s string) bool {
	p, i := 0, 0             // next byte of pattern and of s
	lastStar, retry := -1, 0 // position of the last * in pattern; where s resumes if we backtrack to it
	for i < len(s) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				lastStar, retry = p, i
				p++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[i:])
				p, i = p+1, i+n
				continue
			default:
				_, n := utf8.DecodeRuneInString(pattern[p:])
				if strings.HasPrefix(s[i:], pattern[p:p+n]) {
					p, i = p+n, i+n
					continue
				}
			}
		}
		if lastStar < 0 {
			return false
		}
		// Let the last * swallow one more character and try again after it.
		_, n := utf8.DecodeRuneInString(s[retry:])
		retry += n
		p, i = lastStar+1, retry
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
