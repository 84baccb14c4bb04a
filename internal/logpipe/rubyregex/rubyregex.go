package rubyregex

import (
	"fmt"
	"regexp"
	"strings"
)

// Check reports whether expr, a regex written for Fluent Bit's Onigmo
// engine (Ruby syntax), can run on Go's RE2. Its message names the
// construct Go cannot run and how to rewrite it.
func Check(expr string) error {
	_, err := Compile(expr)
	return err
}

// Compile compiles a Fluent Bit regex with Ruby's meaning: ^ and $
// match at line boundaries, (?m) makes . match a newline, /.../imx
// delimiters give options, (?<name>...) names a group.
func Compile(expr string) (*regexp.Regexp, error) {
	body, flags, err := stripDelimiters(expr)
	if err != nil {
		return nil, err
	}
	tr := translator{src: body}
	if err := tr.run(); err != nil {
		return nil, err
	}
	re, err := regexp.Compile("(?m" + flags + ")" + tr.out.String())
	if err != nil {
		return nil, fmt.Errorf("Regex does not compile in Go's RE2 (%v): fix the pattern", err)
	}
	return re, nil
}

// stripDelimiters handles Fluent Bit's /pattern/ and /pattern/options
// forms (options i, m, x) and returns the pattern and Go flags.
func stripDelimiters(expr string) (string, string, error) {
	if len(expr) < 2 || expr[0] != '/' {
		return expr, "", nil
	}
	last := strings.LastIndexByte(expr, '/')
	if last == 0 {
		return expr, "", nil
	}
	opts := expr[last+1:]
	if opts == "" {
		return expr[1:last], "", nil
	}
	flags := ""
	for _, o := range opts {
		switch o {
		case 'i':
			flags += "i"
		case 'm':
			flags += "s" // Ruby's multiline option is Go's s: . matches a newline
		case 'o':
		case 'x':
			return "", "", extendedModeError("/x")
		default:
			return expr, "", nil // not options after all: Fluent Bit takes the whole text as the pattern
		}
	}
	if flags == "" {
		return expr, "", nil // only o, which Fluent Bit ignores and then keeps the delimiters
	}
	return expr[1:last], flags, nil
}

// translator rewrites Ruby regex syntax into Go's, refusing what RE2
// cannot do.
type translator struct {
	src string
	i   int
	out strings.Builder
}

func (t *translator) run() error {
	for t.i < len(t.src) {
		var err error
		switch c := t.src[t.i]; c {
		case '\\':
			err = t.escape(false)
		case '[':
			err = t.class()
		case '(':
			err = t.group()
		case '*', '+', '?':
			err = t.quantifier(c)
		case '{':
			t.brace()
		default:
			t.out.WriteByte(c)
			t.i++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *translator) rest() string { return t.src[t.i:] }

// quantifier copies *, + or ?, and its lazy ? suffix; a + suffix is
// Ruby's possessive form, which RE2 lacks.
func (t *translator) quantifier(c byte) error {
	t.out.WriteByte(c)
	t.i++
	switch {
	case strings.HasPrefix(t.rest(), "+"):
		return unsupported(string(c)+"+", "a possessive quantifier",
			"drop the second + (RE2 never backtracks, so the plain quantifier matches the same lines in most patterns)")
	case strings.HasPrefix(t.rest(), "?"):
		t.out.WriteByte('?')
		t.i++
	}
	return nil
}

// brace copies {, turning Ruby's {,n} (at most n) into Go's {0,n}, which
// Go would otherwise read as literal text.
func (t *translator) brace() {
	rest := t.rest()
	if end := strings.IndexByte(rest, '}'); end > 2 && rest[1] == ',' && allDigits(rest[2:end]) {
		t.out.WriteString("{0")
		t.i++
		return
	}
	t.out.WriteByte('{')
	t.i++
}

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

const hexDigits = "0-9a-fA-F"

// escape handles a backslash sequence, inside a [class] or not.
func (t *translator) escape(inClass bool) error {
	rest := t.rest()
	if len(rest) < 2 {
		t.out.WriteString(rest) // Go reports the trailing backslash
		t.i = len(t.src)
		return nil
	}
	n := rest[1]
	switch {
	case n >= '1' && n <= '9' && !inClass:
		end := 2
		for end < len(rest) && isDigit(rest[end]) {
			end++
		}
		return unsupported(rest[:end], "a backreference", "rewrite it without one")
	case (n == 'k' || n == 'g') && len(rest) > 2 && (rest[2] == '<' || rest[2] == '\''):
		what := "a named backreference"
		if n == 'g' {
			what = "a subexpression call"
		}
		return unsupported(upTo(rest, ">'", 3), what, "rewrite it without one")
	case n == 'h':
		t.out.WriteString(wrapClass(hexDigits, inClass))
	case n == 'H' && inClass:
		return unsupported(`\H`, "a non-hex-digit class inside [...]", "write the class out in full")
	case n == 'H':
		t.out.WriteString("[^" + hexDigits + "]")
	case n == 'Z' && !inClass:
		t.out.WriteString(`(?:\n?\z)`) // end of text, or before a final newline
	case n == 'R' && !inClass:
		t.out.WriteString(`(?:\r\n|[\n\v\f\r\x{85}\x{2028}\x{2029}])`)
	case n == 'e':
		t.out.WriteString(`\x1b`)
	case strings.IndexByte("GKXyY", n) >= 0 && !inClass:
		return unsupported(rest[:2], "an anchor or class Go's RE2 does not have", "rewrite the pattern without it")
	default:
		t.out.WriteString(rest[:2])
	}
	t.i += 2
	return nil
}

func wrapClass(items string, inClass bool) string {
	if inClass {
		return items
	}
	return "[" + items + "]"
}

// upTo returns s up to and including the first byte of stops at or after
// from, or all of s.
func upTo(s, stops string, from int) string {
	if i := strings.IndexAny(s[from:], stops); i >= 0 {
		return s[:from+i+1]
	}
	return s
}

// class copies a [...] character class. Ruby's nested classes and &&
// intersections have no RE2 form.
func (t *translator) class() error {
	t.out.WriteByte('[')
	t.i++
	if strings.HasPrefix(t.rest(), "^") {
		t.out.WriteByte('^')
		t.i++
	}
	if strings.HasPrefix(t.rest(), "]") { // a ] first is literal in both syntaxes; escape it to be plain
		t.out.WriteString(`\]`)
		t.i++
	}
	for t.i < len(t.src) {
		rest := t.rest()
		switch {
		case rest[0] == '\\':
			if err := t.escape(true); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "[:"):
			end := strings.Index(rest, ":]")
			if end < 0 {
				return unsupported("[", "a nested character class", "write the class out in full")
			}
			t.out.WriteString(rest[:end+2])
			t.i += end + 2
		case rest[0] == '[':
			return unsupported("[...[...]]", "a nested character class", "write the class out in full")
		case strings.HasPrefix(rest, "&&"):
			return unsupported("&&", "a character class intersection", "write the class out in full, e.g. [a-z&&[^aeiou]] as [b-df-hj-np-tv-z]")
		case rest[0] == ']':
			t.out.WriteByte(']')
			t.i++
			return nil
		default:
			t.out.WriteByte(rest[0])
			t.i++
		}
	}
	return nil // unterminated: Go reports it
}

func unsupported(construct, what, fix string) error {
	return fmt.Errorf("Regex uses %s (%s), which Go's RE2 cannot run: %s", what, construct, fix)
}

func extendedModeError(construct string) error {
	return unsupported(construct, "extended mode", "write the pattern without it (remove its spaces and # comments, and the x)")
}

// group copies an opening parenthesis and what makes it special: a
// named group, an option group, or a construct RE2 lacks.
func (t *translator) group() error {
	rest := t.rest()
	if !strings.HasPrefix(rest, "(?") {
		t.out.WriteByte('(')
		t.i++
		return nil
	}
	if len(rest) < 3 {
		t.out.WriteString(rest) // Go reports it
		t.i = len(t.src)
		return nil
	}
	switch k := rest[2]; {
	case strings.HasPrefix(rest, "(?<=") || strings.HasPrefix(rest, "(?<!"):
		return unsupported(rest[:4]+"...)", "a lookbehind", "rewrite it without one: match the text before as part of the pattern")
	case k == '<' || k == '\'':
		return t.namedGroup(rest)
	case k == '=' || k == '!':
		return unsupported(rest[:3]+"...)", "a lookahead", "rewrite it without one: match the text after as part of the pattern")
	case k == '>':
		return unsupported("(?>...)", "an atomic group", "write a plain group (?:...) instead")
	case k == '~':
		return unsupported("(?~...)", "an absence operator", "rewrite it without one")
	case k == '(':
		return unsupported("(?(cond)...)", "a conditional group", "rewrite it without one")
	case k == '#':
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			end = len(rest) - 1
		}
		t.i += end + 1 // a comment: drop it
		return nil
	}
	return t.optionGroup(rest)
}

// namedGroup turns (?<name>...) or (?'name'...) into Go's (?P<name>...).
func (t *translator) namedGroup(rest string) error {
	closer := byte('>')
	if rest[2] == '\'' {
		closer = '\''
	}
	end := strings.IndexByte(rest[3:], closer)
	if end < 0 {
		t.out.WriteString("(?P<")
		t.i += 3 // Go reports the unterminated name
		return nil
	}
	t.out.WriteString("(?P<" + rest[3:3+end] + ">")
	t.i += 3 + end + 1
	return nil
}

// optionGroup translates (?imx-imx) and (?imx-imx:...): Ruby's m is Go's
// s; Ruby's ^ and $ always work on lines, so Go's m is always on.
func (t *translator) optionGroup(rest string) error {
	var flags strings.Builder
	for j := 2; j < len(rest); j++ {
		switch c := rest[j]; c {
		case 'i', '-':
			flags.WriteByte(c)
		case 'm':
			flags.WriteByte('s')
		case 'x':
			return extendedModeError("(?x)")
		case ':', ')':
			f := strings.TrimSuffix(flags.String(), "-")
			switch {
			case f != "":
				t.out.WriteString("(?" + f + string(c))
			case c == ':':
				t.out.WriteString("(?:")
			}
			t.i += j + 1
			return nil
		default:
			return unsupported(rest[:j+1], "an option Go's RE2 does not have", "remove the option")
		}
	}
	t.out.WriteString(rest) // unterminated: Go reports it
	t.i = len(t.src)
	return nil
}
