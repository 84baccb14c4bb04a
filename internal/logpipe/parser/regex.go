package parser

import (
	"fmt"
	"regexp"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/rubyregex"
)

// regexParser is Format regex: the named groups of the first match become
// the fields.
type regexParser struct {
	re        *regexp.Regexp
	names     []string // re.SubexpNames(): "" for unnamed groups, which give no field
	skipEmpty bool
	time      timeKey
	types     types
}

func newRegexParser(p logpipe.Params, tk timeKey, ts types) (*regexParser, error) {
	expr, ok := p.Get("Regex")
	if !ok || expr == "" {
		return nil, fmt.Errorf("Format regex needs a Regex: add Regex ^(?<field>...)$")
	}
	re, err := rubyregex.Compile(expr)
	if err != nil {
		return nil, err
	}
	skip, err := p.Bool("Skip_Empty_Values", true)
	if err != nil {
		return nil, err
	}
	return &regexParser{re: re, names: re.SubexpNames(), skipEmpty: skip, time: tk, types: ts}, nil
}

// Parse matches text (anywhere, as Onigmo's search does). A group that
// matched nothing, or did not take part, is skipped while
// Skip_Empty_Values is on (the default). When the time field does not fit
// Time_Format, the field is dropped and t stays zero, as Fluent Bit does
// (it logs "invalid time format" and keeps the record).
func (r *regexParser) Parse(text string) (map[string]any, time.Time, bool) {
	if r.re.NumSubexp() == 0 {
		return nil, time.Time{}, false // Fluent Bit needs a group to make a record
	}
	m := r.re.FindStringSubmatchIndex(text)
	if m == nil {
		return nil, time.Time{}, false
	}
	fields := make(map[string]any, len(r.names))
	var t time.Time
	for i, name := range r.names {
		if name == "" {
			continue
		}
		value := ""
		if m[2*i] >= 0 {
			value = text[m[2*i]:m[2*i+1]]
		}
		if value == "" && r.skipEmpty {
			continue
		}
		if r.time.active() && name == r.time.key {
			parsed, ok := r.time.parse(value)
			if !ok {
				continue
			}
			t = parsed
			if !r.time.keep {
				continue
			}
		}
		fields[name] = r.types.convert(name, value)
	}
	return fields, t, true
}
