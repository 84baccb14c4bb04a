package filter

import (
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// nestWildcard is a Wildcard line: a key, or a key prefix when it ends
// in *. Keys compare with case, as in filter_nest.c.
type nestWildcard struct {
	key    string
	prefix bool
}

func (w nestWildcard) matches(k string) bool {
	if w.prefix {
		return strings.HasPrefix(k, w.key)
	}
	return k == w.key
}

// nest moves top-level keys under a new map (Operation nest) or a map's
// keys up to the top level (Operation lift).
type nest struct {
	lift      bool
	wildcards []nestWildcard
	key       string // Nest_under or Nested_under
	addPrefix string
	rmPrefix  string
}

func newNest(p logpipe.Params) (*nest, error) {
	f := &nest{}
	for _, kv := range p {
		v := strings.TrimSpace(kv.Value)
		switch strings.ToLower(kv.Key) {
		case "operation":
			switch strings.ToLower(v) {
			case "nest":
				f.lift = false
			case "lift":
				f.lift = true
			default:
				return nil, errorf("nest", "Operation is %q: write nest or lift", v)
			}
		case "wildcard":
			k, isPrefix := strings.CutSuffix(v, "*")
			f.wildcards = append(f.wildcards, nestWildcard{key: k, prefix: isPrefix})
		case "nest_under", "nested_under":
			f.key = v
		case "add_prefix", "prefix_with":
			f.addPrefix = v
		case "remove_prefix":
			f.rmPrefix = v
		default:
			// Fluent Bit's nest refuses keys it does not know.
			if !isGeneralKey(kv.Key) {
				return nil, errorf("nest", "unknown key %s: nest takes Operation, Wildcard, Nest_under, Nested_under, Add_prefix and Remove_prefix", kv.Key)
			}
		}
	}
	if _, ok := p.Get("Operation"); !ok {
		return nil, errorf("nest", `Operation is required: add "Operation nest" or "Operation lift"`)
	}
	if f.addPrefix != "" && f.rmPrefix != "" {
		return nil, errorf("nest", "Add_prefix and Remove_prefix cannot be used together: keep one, or use two nest filters")
	}
	if f.lift {
		if f.key == "" {
			return nil, errorf("nest", `Nested_under is required with Operation lift: add a line such as "Nested_under kubernetes"`)
		}
		return f, nil
	}
	if len(f.wildcards) == 0 {
		return nil, errorf("nest", `Wildcard is required with Operation nest: add a line such as "Wildcard Mem.*"`)
	}
	if f.key == "" {
		return nil, errorf("nest", `Nest_under is required with Operation nest: add a line such as "Nest_under memory"`)
	}
	return f, nil
}

func (f *nest) Filter(rec logpipe.Record) []logpipe.Record {
	if f.lift {
		f.liftUp(rec.Fields)
	} else {
		f.nestUnder(rec.Fields)
	}
	return []logpipe.Record{rec}
}

// rename applies Add_prefix or Remove_prefix to a moved key.
func (f *nest) rename(k string) string {
	if f.addPrefix != "" {
		return f.addPrefix + k
	}
	if f.rmPrefix != "" {
		return strings.TrimPrefix(k, f.rmPrefix)
	}
	return k
}

// nestUnder moves the keys any Wildcard matches into a map at Nest_under;
// a record with none is left alone. Fluent Bit appends the new map, so
// an existing key of that name appears twice; here the new map replaces
// it (unless it was itself moved into the map).
func (f *nest) nestUnder(fields map[string]any) {
	inner := map[string]any{}
	for k, v := range fields {
		if f.matches(k) {
			inner[f.rename(k)] = v
			delete(fields, k)
		}
	}
	if len(inner) > 0 {
		fields[f.key] = inner
	}
}

func (f *nest) matches(k string) bool {
	for _, w := range f.wildcards {
		if w.matches(k) {
			return true
		}
	}
	return false
}

// liftUp moves the keys of the map at Nested_under to the top level and
// removes it; a value that is not a map stays where it is. Lifted keys
// replace top-level keys of the same name (Fluent Bit writes both).
func (f *nest) liftUp(fields map[string]any) {
	inner, ok := fields[f.key].(map[string]any)
	if !ok {
		return
	}
	delete(fields, f.key)
	for k, v := range inner {
		fields[f.rename(k)] = v
	}
}
