package filter

import (
	"fmt"
	"regexp"
	"strings"
)

// compileRegex compiles a regular expression written for Fluent Bit,
// which runs Onigmo with Ruby syntax, on Go's RE2. what names the place
// for errors (`grep: Regex "log ^x("`).
//
// Ruby differs from Go where it matters here:
//   - ^ and $ match at every line boundary: the pattern runs with (?m);
//   - (?<name>re) is a named group: written (?P<name>re) for Go;
//   - \h is a hex digit;
//   - /re/imx is Fluent Bit's way to pass options: i is (?i), m (dot
//     matches newline) is (?s), x is refused.
//
// RE2 runs in linear time and has no backreferences, lookaround, atomic
// groups or \Z; those are refused with the rewrite to use.
func compileRegex(what, pattern string) (*regexp.Regexp, error) {
	body, flags, err := splitSlashOptions(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	converted, err := rubyToRE2(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	re, err := regexp.Compile("(?m" + flags + ")" + converted)
	if err != nil {
		return nil, fmt.Errorf("%s: Go's RE2 cannot compile it (%v): rewrite it in RE2 syntax", what, err)
	}
	return re, nil
}

// splitSlashOptions reads Fluent Bit's /re/opts form the way
// flb_regex.c does: a pattern wrapped in slashes loses them, and letters
// after the last slash are options only when all of them are i, m, x or
// o; otherwise the text is a plain pattern.
func splitSlashOptions(p string) (body, flags string, err error) {
	if len(p) < 2 || p[0] != '/' {
		return p, "", nil
	}
	last := strings.LastIndexByte(p, '/')
	if last == 0 {
		return p, "", nil
	}
	opts := p[last+1:]
	if opts == "" {
		return p[1:last], "", nil
	}
	for _, c := range opts {
		switch c {
		case 'i':
			flags += "i"
		case 'm':
			flags += "s"
		case 'o':
		case 'x':
			return "", "", fmt.Errorf("the /x (extended) option is not supported by Go's RE2: remove the spaces and comments from the pattern and drop x")
		default:
			return p, "", nil
		}
	}
	return p[1:last], flags, nil
}

// rubyToRE2 rewrites the Ruby-only spellings RE2 has an equivalent for
// and refuses the constructs it has none for.
func rubyToRE2(p string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			next := p[i+1]
			repl, err := rubyEscape(next, inClass)
			if err != nil {
				return "", err
			}
			b.WriteString(repl)
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			// A ] right after [ or [^ is a literal, not the end.
			b.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == '(' && strings.HasPrefix(p[i:], "(?"):
			repl, skip, err := rubyGroup(p[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(repl)
			i += skip - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// rubyEscape translates the escape \next.
func rubyEscape(next byte, inClass bool) (string, error) {
	switch {
	case next >= '1' && next <= '9' && !inClass:
		return "", fmt.Errorf(`it uses a backreference (\%c), which Go's RE2 cannot run: rewrite it without one (capture both parts separately, or match the repeated text literally)`, next)
	case next == 'k':
		return "", fmt.Errorf(`it uses a named backreference (\k<...>), which Go's RE2 cannot run: rewrite it without one`)
	case next == 'g':
		return "", fmt.Errorf(`it uses a subexpression call (\g<...>), which Go's RE2 cannot run: repeat the group's pattern instead`)
	case next == 'Z':
		return "", fmt.Errorf(`it uses \Z, which Go's RE2 does not have: use \z, or \n?\z to allow one final newline`)
	case next == 'h' && inClass:
		return "0-9a-fA-F", nil
	case next == 'h':
		return "[0-9a-fA-F]", nil
	case next == 'H' && !inClass:
		return "[^0-9a-fA-F]", nil
	}
	return `\` + string(next), nil
}

// rubyGroup translates the group opening at the start of s, returning
// the text to write and how many bytes of s it replaces.
func rubyGroup(s string) (string, int, error) {
	switch {
	case strings.HasPrefix(s, "(?<=") || strings.HasPrefix(s, "(?<!"):
		return "", 0, fmt.Errorf("it uses a lookbehind (%s...), which Go's RE2 cannot run: capture the text before instead of looking behind", s[:4])
	case strings.HasPrefix(s, "(?="), strings.HasPrefix(s, "(?!"):
		return "", 0, fmt.Errorf("it uses a lookahead (%s...), which Go's RE2 cannot run: match or capture the following text instead", s[:3])
	case strings.HasPrefix(s, "(?>"):
		return "", 0, fmt.Errorf("it uses an atomic group ((?>...)), which Go's RE2 cannot run: use a plain group (?:...); RE2 never backtracks anyway")
	case strings.HasPrefix(s, "(?~"):
		return "", 0, fmt.Errorf("it uses an absence operator ((?~...)), which Go's RE2 cannot run: rewrite it with a negated class")
	case strings.HasPrefix(s, "(?<"):
		return "(?P<", 3, nil
	}
	return "(?", 2, nil
}
