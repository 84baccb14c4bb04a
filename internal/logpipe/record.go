package logpipe

import (
	"maps"
	"time"
)

// Record is one log record. Fields holds values decoded as encoding/json
// decodes into any: string, float64 (or int64 from parsers that type
// integers), bool, nil, map[string]any and []any.
type Record struct {
	Tag    string
	Time   time.Time
	Fields map[string]any
}

// Clone returns a copy of r whose Fields (and maps nested in them) can be
// changed without changing r's.
func (r Record) Clone() Record {
	r.Fields = cloneMap(r.Fields)
	return r
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	for k, v := range out {
		switch v := v.(type) {
		case map[string]any:
			out[k] = cloneMap(v)
		case []any:
			s := make([]any, len(v))
			copy(s, v)
			out[k] = s
		}
	}
	return out
}
