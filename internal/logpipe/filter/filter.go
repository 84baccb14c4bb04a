package filter

import (
	"fmt"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Deps is what filters need from the router beyond their own section.
type Deps struct {
	// Parsers are the [PARSER] sections of parsers.conf by Name, for the
	// parser filter and kubernetes' Merge_Parser and pod annotations.
	Parsers map[string]logpipe.Parser
	// Pods looks up pod metadata for the kubernetes filter.
	Pods PodSource
	// Now is the clock (throttle's window, kubernetes' cache); nil takes
	// time.Now.
	Now func() time.Time
	// Logf writes the filter's own status lines (throttle's
	// Print_Status); nil discards them.
	Logf func(format string, args ...any)
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d Deps) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}

// parser finds a [PARSER] by Name. Fluent Bit compares names exactly;
// a name differing only in case is accepted too, as fargo's config keys
// are case-insensitive elsewhere.
func (d Deps) parser(name string) (logpipe.Parser, bool) {
	if p, ok := d.Parsers[name]; ok {
		return p, true
	}
	for n, p := range d.Parsers {
		if strings.EqualFold(n, name) {
			return p, true
		}
	}
	return nil, false
}

// New builds the filter a [FILTER] section names. Match and Match_Regex
// are the router's business and are not read here.
func New(p logpipe.Params, deps Deps) (logpipe.Filter, error) {
	name, ok := p.Get("Name")
	if !ok || strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("[FILTER] has no Name: add a Name line (grep, parser, record_modifier, rewrite_tag, throttle, nest, modify or kubernetes)")
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "grep":
		return newGrep(p)
	case "parser":
		return newParser(p, deps)
	case "record_modifier":
		return newRecordModifier(p)
	case "rewrite_tag":
		return newRewriteTag(p)
	case "throttle":
		return newThrottle(p, deps)
	case "nest":
		return newNest(p)
	case "modify":
		return newModify(p)
	case "kubernetes":
		return newKubernetes(p, deps)
	}
	return nil, fmt.Errorf("[FILTER] Name %s: not a filter EKS Fargate allows; use grep, parser, record_modifier, rewrite_tag, throttle, nest, modify or kubernetes", name)
}

// errorf builds a configuration error that names the filter, so a user
// with several [FILTER] sections knows which one to fix.
func errorf(filter, format string, args ...any) error {
	return fmt.Errorf("[FILTER] %s: "+format, append([]any{filter}, args...)...)
}

// required returns key's value or an error naming the filter and key.
func required(p logpipe.Params, filter, key, example string) (string, error) {
	v, ok := p.Get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return "", errorf(filter, "%s is required: add a line such as %q", key, example)
	}
	return strings.TrimSpace(v), nil
}

// generalKeys are the keys every [FILTER] section may carry, read by the
// router or by Fluent Bit's core rather than by the plugin. Filters that
// refuse unknown keys (as Fluent Bit's nest and modify do) let these by.
var generalKeys = map[string]bool{
	"name": true, "match": true, "match_regex": true, "alias": true,
	"log_level": true, "log_suppress_interval": true,
}

func isGeneralKey(k string) bool { return generalKeys[strings.ToLower(k)] }

// boolParam reads an On/Off key with an error naming the filter.
func boolParam(p logpipe.Params, filter, key string, def bool) (bool, error) {
	b, err := p.Bool(key, def)
	if err != nil {
		return def, errorf(filter, "%v", err)
	}
	return b, nil
}
