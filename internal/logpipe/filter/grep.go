package filter

import (
	"regexp"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// grepRule is one Regex or Exclude line.
type grepRule struct {
	exclude bool
	key     logpipe.Accessor
	re      *regexp.Regexp
}

// matches reports whether the rule's key holds a string its regex
// matches. Like flb_ra_regex_match, a missing key or a value that is not
// a string (a number, a map) never matches.
func (r grepRule) matches(fields map[string]any) bool {
	v, ok := r.key.Get(fields)
	if !ok {
		return false
	}
	s, ok := v.(string)
	return ok && r.re.MatchString(s)
}

type logicalOp int

const (
	opLegacy logicalOp = iota
	opAnd
	opOr
)

// grep keeps or drops records by regular expressions on their fields.
type grep struct {
	rules []grepRule
	op    logicalOp
}

func newGrep(p logpipe.Params) (*grep, error) {
	g := &grep{}
	switch op := strings.ToLower(strings.TrimSpace(p.String("Logical_Op", "legacy"))); op {
	case "legacy":
	case "and":
		g.op = opAnd
	case "or":
		g.op = opOr
	default:
		// Fluent Bit quietly falls back to legacy; a typo here would change
		// which records pass, so say so instead.
		return nil, errorf("grep", "Logical_Op is %q: write legacy, AND or OR", op)
	}
	for _, kv := range p {
		var exclude bool
		switch strings.ToLower(kv.Key) {
		case "regex":
		case "exclude":
			exclude = true
		default:
			continue
		}
		rule, err := parseGrepRule(kv.Key, kv.Value, exclude)
		if err != nil {
			return nil, err
		}
		if g.op != opLegacy && len(g.rules) > 0 && g.rules[0].exclude != exclude {
			return nil, errorf("grep", "both Regex and Exclude are set with Logical_Op %s: use only one kind, or split them into two grep filters", p.String("Logical_Op", ""))
		}
		g.rules = append(g.rules, rule)
	}
	if len(g.rules) == 0 {
		return nil, errorf("grep", `Regex or Exclude is required: add a line such as "Regex log ERROR"`)
	}
	return g, nil
}

func parseGrepRule(key, value string, exclude bool) (grepRule, error) {
	// Fluent Bit splits on the first space only: the regex is the rest of
	// the line, spaces and all.
	value = strings.TrimLeft(value, " \t")
	i := strings.IndexAny(value, " \t")
	if i < 0 || strings.TrimSpace(value[i:]) == "" {
		return grepRule{}, errorf("grep", "%s %q: write a KEY and a REGEX, e.g. \"%s log ^ERROR\"", key, value, key)
	}
	acc, err := logpipe.ParseAccessor(value[:i])
	if err != nil {
		return grepRule{}, errorf("grep", "%s %q: %v", key, value, err)
	}
	pattern := strings.TrimLeft(value[i:], " \t")
	re, err := compileRegex("grep: "+key+" "+value, pattern)
	if err != nil {
		return grepRule{}, errorf("grep", "%v", err)
	}
	return grepRule{exclude: exclude, key: acc, re: re}, nil
}

func (g *grep) Filter(rec logpipe.Record) []logpipe.Record {
	keep := g.keepLegacy(rec.Fields)
	if g.op != opLegacy {
		keep = g.keepAndOr(rec.Fields)
	}
	if !keep {
		return nil
	}
	return []logpipe.Record{rec}
}

// keepLegacy is Fluent Bit's legacy mode, rule by rule in config order:
// an Exclude that matches drops the record, a Regex that does not match
// drops it, and the first Regex that matches keeps it without looking at
// later rules. That is why Fluent Bit's docs say to put Exclude lines
// first and use one Regex.
func (g *grep) keepLegacy(fields map[string]any) bool {
	for _, r := range g.rules {
		m := r.matches(fields)
		switch {
		case r.exclude && m:
			return false
		case !r.exclude && !m:
			return false
		case !r.exclude && m:
			return true
		}
	}
	return true
}

// keepAndOr is Logical_Op AND/OR, where all rules are of one kind: the
// rules combine into one match, which keeps the record for Regex rules
// and drops it for Exclude rules.
func (g *grep) keepAndOr(fields map[string]any) bool {
	found := g.op == opAnd
	for _, r := range g.rules {
		m := r.matches(fields)
		if g.op == opOr && m {
			found = true
			break
		}
		if g.op == opAnd && !m {
			found = false
			break
		}
	}
	return found != g.rules[0].exclude
}
