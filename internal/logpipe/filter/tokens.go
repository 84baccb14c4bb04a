package filter

import (
	"fmt"
	"strings"
)

// quoting says which of Fluent Bit's two tokenizers a key uses: their
// quoting rules differ slightly and a value written for one must mean
// the same here.
type quoting int

const (
	// slistQuotes is flb_slist_split_tokens (record_modifier's Record,
	// rewrite_tag's Rule): only "..." quotes, and only \" is an escape
	// inside them.
	slistQuotes quoting = iota
	// splitQuotes is flb_utils_split_quoted (modify): "..." or '...', with
	// \", \' and \\ as escapes inside.
	splitQuotes
)

// splitTokens splits a value on spaces into at most max tokens, quoted
// tokens kept whole; when text remains after max tokens it becomes one
// more token, so a caller that wants exactly max can tell.
func splitTokens(s string, max int, q quoting) ([]string, error) {
	var out []string
	rest := strings.TrimLeft(s, " \t")
	for rest != "" {
		if len(out) == max {
			return append(out, rest), nil
		}
		tok, after, err := nextToken(rest, q)
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
		rest = strings.TrimLeft(after, " \t")
	}
	return out, nil
}

// nextToken reads one token from s, which starts with no blank.
func nextToken(s string, q quoting) (tok, rest string, err error) {
	quote := s[0]
	if quote != '"' && (quote != '\'' || q != splitQuotes) {
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			return s, "", nil
		}
		return s[:end], s[end:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && isEscapable(s[i+1], quote, q) {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if c == quote {
			return b.String(), s[i+1:], nil
		}
		b.WriteByte(c)
	}
	return "", "", fmt.Errorf("unclosed %c in %q: close the quote", quote, s)
}

func isEscapable(c, quote byte, q quoting) bool {
	if q == slistQuotes {
		return c == '"'
	}
	return c == quote || c == '\\'
}
