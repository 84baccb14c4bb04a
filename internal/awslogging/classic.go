package awslogging

import (
	"fmt"
	"strings"
)

// Section is one [NAME] block of a fluent-bit classic configuration.
type Section struct {
	Kind   string  // the name between the brackets, upper-cased: OUTPUT, FILTER, PARSER
	Line   int     // line of the [NAME] header, from 1
	Params []Param // key-value lines in order; a key may repeat (grep's Regex, modify's rules)
}

// Param is one `key value` line of a section.
type Param struct {
	Key   string
	Value string
	Line  int
}

// Get returns the value of the first param named key, ignoring case as
// fluent-bit does.
func (s *Section) Get(key string) (string, bool) {
	for _, p := range s.Params {
		if strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// count is how many params are named key, ignoring case.
func (s *Section) count(key string) int {
	n := 0
	for _, p := range s.Params {
		if strings.EqualFold(p.Key, key) {
			n++
		}
	}
	return n
}

// classicParser reads one ConfigMap value in fluent-bit's classic format:
//
//	# comment
//	[OUTPUT]
//	    Name  cloudwatch_logs
//	    Match kube.*
//
// Only whole-line comments exist: a # inside a value belongs to the value,
// as in fluent-bit. Problems are collected, not returned at the first one,
// so that a user sees what else is wrong.
type classicParser struct {
	sections []Section
	problems []lineProblem

	// The first header and the first key-value line fix the indentation
	// every later header and key-value line must repeat.
	headerIndent, paramIndent *indentation
}

type indentation struct {
	text string
	line int
}

// lineProblem is a problem found on one line of a ConfigMap value; the key
// is added when problems of all kinds are merged in line order.
type lineProblem struct {
	line int
	text string
}

func parseClassic(text string) ([]Section, []lineProblem) {
	p := &classicParser{}
	for i, raw := range strings.Split(text, "\n") {
		p.readLine(i+1, strings.TrimSuffix(raw, "\r"))
	}
	return p.sections, p.problems
}

func (p *classicParser) problemf(line int, format string, args ...any) {
	p.problems = append(p.problems, lineProblem{line: line, text: fmt.Sprintf(format, args...)})
}

func (p *classicParser) readLine(n int, raw string) {
	text := strings.TrimSpace(raw)
	if text == "" || strings.HasPrefix(text, "#") {
		return
	}
	indent := raw[:len(raw)-len(strings.TrimLeft(raw, " \t"))]
	if v := envReference(text); v != "" {
		p.problemf(n, "environment variables like %s are not allowed", v)
		return
	}
	switch {
	case strings.HasPrefix(text, "["):
		p.readHeader(n, indent, text)
	case strings.HasPrefix(text, "@"):
		p.problemf(n, "%s is not allowed: the configuration must be self-contained", strings.Fields(text)[0])
	default:
		p.readParam(n, indent, text)
	}
}

func (p *classicParser) readHeader(n int, indent, text string) {
	if !strings.HasSuffix(text, "]") || len(text) < 3 {
		p.problemf(n, "malformed section header %q: write it like [OUTPUT]", text)
		return
	}
	p.checkIndent(n, indent, &p.headerIndent, "section header")
	kind := strings.ToUpper(strings.TrimSpace(text[1 : len(text)-1]))
	p.sections = append(p.sections, Section{Kind: kind, Line: n})
}

func (p *classicParser) readParam(n int, indent, text string) {
	if len(p.sections) == 0 {
		p.problemf(n, "%q is outside a section: start the section with its [NAME] header", text)
		return
	}
	// Headers come before key-value pairs, so checking the first pair
	// against the first header covers every line once both are consistent.
	if p.paramIndent == nil && p.headerIndent != nil && len(indent) <= len(p.headerIndent.text) {
		p.problemf(n, "key-value pairs must be indented more than section headers")
	}
	p.checkIndent(n, indent, &p.paramIndent, "key-value pair")
	key, value := text, ""
	if i := strings.IndexAny(text, " \t"); i >= 0 {
		key, value = text[:i], strings.TrimSpace(text[i:])
	}
	if value == "" {
		p.problemf(n, "key %q has no value", key)
		return
	}
	s := &p.sections[len(p.sections)-1]
	s.Params = append(s.Params, Param{Key: key, Value: value, Line: n})
}

// checkIndent compares a line's indentation with the first of its kind.
// Tabs and spaces are compared as written: a tab is not "four spaces".
func (p *classicParser) checkIndent(n int, indent string, first **indentation, what string) {
	if *first == nil {
		*first = &indentation{text: indent, line: n}
		return
	}
	if indent != (*first).text {
		p.problemf(n, "%s is indented %s, but line %d is indented %s: use the same indentation throughout",
			what, describeIndent(indent), (*first).line, describeIndent((*first).text))
	}
}

func describeIndent(s string) string {
	tabs := strings.Count(s, "\t")
	spaces := len(s) - tabs
	switch {
	case s == "":
		return "not at all"
	case tabs == 0:
		return plural(spaces, "space")
	case spaces == 0:
		return plural(tabs, "tab")
	default:
		return plural(spaces, "space") + " and " + plural(tabs, "tab")
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// envReference returns the first ${...} in text, or "". fluent-bit would
// expand it from the log router's environment, which is not the user's to
// read.
func envReference(text string) string {
	start := strings.Index(text, "${")
	if start < 0 {
		return ""
	}
	end := strings.Index(text[start:], "}")
	if end < 0 {
		return text[start:]
	}
	return text[start : start+end+1]
}
