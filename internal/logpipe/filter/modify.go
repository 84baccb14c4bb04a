package filter

import (
	"regexp"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// modify changes records by rules applied in the order written, each on
// the result of the one before, when all its Conditions hold.
type modify struct {
	conditions []modifyCondition
	rules      []modifyRule
}

type ruleKind int

const (
	ruleSet ruleKind = iota
	ruleAdd
	ruleRemove
	ruleRemoveWildcard
	ruleRemoveRegex
	ruleRename
	ruleHardRename
	ruleCopy
	ruleHardCopy
	ruleMove // Move_to_start / Move_to_end
)

// modifyRules maps a rule's key to its kind and how many parameters it
// takes.
var modifyRules = map[string]struct {
	kind ruleKind
	args int
}{
	"set":                {ruleSet, 2},
	"add":                {ruleAdd, 2},
	"add_if_not_present": {ruleAdd, 2}, // deprecated spelling of Add
	"remove":             {ruleRemove, 1},
	"remove_wildcard":    {ruleRemoveWildcard, 1},
	"remove_regex":       {ruleRemoveRegex, 1},
	"rename":             {ruleRename, 2},
	"hard_rename":        {ruleHardRename, 2},
	"copy":               {ruleCopy, 2},
	"hard_copy":          {ruleHardCopy, 2},
	"move_to_start":      {ruleMove, 1},
	"move_to_end":        {ruleMove, 1},
}

type modifyRule struct {
	kind     ruleKind
	key, arg string
	re       *regexp.Regexp // Remove_regex
}

func newModify(p logpipe.Params) (*modify, error) {
	f := &modify{}
	for _, kv := range p {
		key := strings.ToLower(kv.Key)
		if key == "condition" {
			c, err := parseCondition(kv.Value)
			if err != nil {
				return nil, err
			}
			f.conditions = append(f.conditions, c)
			continue
		}
		spec, ok := modifyRules[key]
		if !ok {
			if isGeneralKey(kv.Key) {
				continue
			}
			return nil, errorf("modify", "unknown rule %s: use Set, Add, Remove, Remove_wildcard, Remove_regex, Rename, Hard_rename, Copy, Hard_copy, Move_to_start, Move_to_end or Condition", kv.Key)
		}
		toks, err := splitTokens(kv.Value, spec.args, splitQuotes)
		if err != nil {
			return nil, errorf("modify", "%s %q: %v", kv.Key, kv.Value, err)
		}
		if len(toks) != spec.args {
			return nil, errorf("modify", "%s %q: %s", kv.Key, kv.Value, argsHint(kv.Key, spec.args))
		}
		r := modifyRule{kind: spec.kind, key: toks[0]}
		if spec.args == 2 {
			r.arg = toks[1]
		}
		switch spec.kind {
		case ruleRemoveRegex:
			if r.re, err = compileRegex("modify: "+kv.Key+" "+kv.Value, r.key); err != nil {
				return nil, errorf("modify", "%v", err)
			}
		case ruleRemoveWildcard:
			// Fluent Bit compares the text as a key prefix (Remove_wildcard
			// Mem removes Mem.used); a trailing * as in Fluent Bit's own
			// examples means the same here.
			r.key = strings.TrimSuffix(r.key, "*")
		}
		f.rules = append(f.rules, r)
	}
	if len(f.rules) == 0 {
		return nil, errorf("modify", `a rule is required: add a line such as "Set cluster my-cluster" or "Rename log message"`)
	}
	return f, nil
}

func argsHint(key string, n int) string {
	if n == 1 {
		return "write one KEY (quote a key with spaces)"
	}
	return "write KEY VALUE, quoting a part with spaces: " + key + ` message "hello world"`
}

func (f *modify) Filter(rec logpipe.Record) []logpipe.Record {
	for _, c := range f.conditions {
		if !c.holds(rec.Fields) {
			return []logpipe.Record{rec}
		}
	}
	if rec.Fields == nil {
		rec.Fields = map[string]any{}
	}
	for _, r := range f.rules {
		r.apply(rec.Fields)
	}
	return []logpipe.Record{rec}
}

// apply runs one rule. Rule keys are plain top-level keys compared with
// case, as in filter_modify.c.
func (r modifyRule) apply(fields map[string]any) {
	v, exists := fields[r.key]
	_, targetExists := fields[r.arg]
	switch r.kind {
	case ruleSet:
		fields[r.key] = r.arg
	case ruleAdd:
		if !exists {
			fields[r.key] = r.arg
		}
	case ruleRemove:
		delete(fields, r.key)
	case ruleRemoveWildcard:
		for k := range fields {
			if strings.HasPrefix(k, r.key) {
				delete(fields, k)
			}
		}
	case ruleRemoveRegex:
		for k := range fields {
			if r.re.MatchString(k) {
				delete(fields, k)
			}
		}
	case ruleRename, ruleHardRename:
		if exists && (r.kind == ruleHardRename || !targetExists) {
			delete(fields, r.key)
			fields[r.arg] = v
		}
	case ruleCopy, ruleHardCopy:
		if exists && (r.kind == ruleHardCopy || !targetExists) {
			fields[r.arg] = deepCopy(v)
		}
	case ruleMove:
		// Fields are a Go map, which has no order: moving a key to the
		// start or end has nothing to act on. Outputs that write JSON
		// order keys themselves.
	}
}

// deepCopy copies maps and slices so a copied field and its source can
// change apart.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
