package filter

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// merge does Merge_Log for one record (pack_map_content in Fluent Bit's
// kubernetes.c): the "log" field, when it is a map or a string that
// parses (with the pod's annotated parser, else Merge_Parser, else as one
// JSON object), has its keys put at the top level or under
// Merge_Log_Key, and with Keep_Log Off the "log" field goes.
func (k *kubernetes) merge(rec *logpipe.Record, annotated logpipe.Parser) {
	var merged map[string]any
	switch v := rec.Fields["log"].(type) {
	case map[string]any:
		merged = v
	case string:
		var ok bool
		if merged, ok = k.parseLog(rec, v, annotated); !ok {
			return
		}
		if k.mergeLogTrim {
			trimValues(merged)
		}
	default:
		return
	}
	if !k.keepLog {
		delete(rec.Fields, "log")
	}
	if len(merged) == 0 {
		return
	}
	if k.mergeLogKey != "" {
		rec.Fields[k.mergeLogKey] = merged
		return
	}
	// Fluent Bit appends merged keys after the record's own, so a name in
	// both is written twice and readers take the merged one; so here.
	for key, val := range merged {
		rec.Fields[key] = val
	}
}

// parseLog parses a log string. A parser's time becomes the record's;
// a parser that gives none sets the record's time to now, as
// merge_log_handler does. The JSON path leaves the time alone.
func (k *kubernetes) parseLog(rec *logpipe.Record, s string, annotated logpipe.Parser) (map[string]any, bool) {
	parser := annotated
	if parser == nil {
		parser = k.mergeParser
	}
	if parser == nil {
		return decodeJSONObject(s)
	}
	fields, t, ok := parser.Parse(s)
	if !ok {
		return nil, false
	}
	if t.IsZero() {
		t = k.deps.now()
	}
	rec.Time = t
	return fields, true
}

// decodeJSONObject reads s as exactly one JSON object. Numbers keep
// their kind as Fluent Bit's msgpack does: whole numbers become int64,
// others float64.
func decodeJSONObject(s string) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more than one JSON value: Fluent Bit does not merge
	}
	return convertNumbers(obj).(map[string]any), true
}

func convertNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, x := range v {
			v[k] = convertNumbers(x)
		}
	case []any:
		for i, x := range v {
			v[i] = convertNumbers(x)
		}
	}
	return v
}

// trimValues is Merge_Log_Trim: each top-level string loses trailing
// newlines and trailing escaped "\n" or "\r" text, as value_trim_size in
// kubernetes.c does (it never trims the first character).
func trimValues(m map[string]any) {
	for k, v := range m {
		if s, ok := v.(string); ok {
			m[k] = trimLogValue(s)
		}
	}
}

func trimLogValue(s string) string {
	size := len(s)
	for i := size - 1; i > 0; i-- {
		switch {
		case s[i] == '\n':
			size--
		case s[i-1] == '\\' && (s[i] == 'n' || s[i] == 'r'):
			size -= 2
			i--
		default:
			return s[:size]
		}
	}
	return s[:size]
}
