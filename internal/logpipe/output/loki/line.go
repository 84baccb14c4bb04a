package loki

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// lineFormat is line_format.
type lineFormat int

const (
	lineJSON lineFormat = iota
	lineKeyValue
)

// dropSingleKey is drop_single_key: off, on, or raw.
type dropSingleKey int

const (
	dropOff dropSingleKey = iota
	dropOn
	dropRaw
)

func readLineFormat(p logpipe.Params) (lineFormat, dropSingleKey, error) {
	var lf lineFormat
	switch v := strings.ToLower(p.String("line_format", "json")); v {
	case "json":
	case "key_value":
		lf = lineKeyValue
	default:
		return 0, 0, fmt.Errorf("line_format is %q: write json or key_value", v)
	}
	v, ok := p.Get("drop_single_key")
	if !ok {
		return lf, dropOff, nil
	}
	if strings.EqualFold(strings.TrimSpace(v), "raw") {
		return lf, dropRaw, nil
	}
	on, err := p.Bool("drop_single_key", false)
	if err != nil {
		return 0, 0, fmt.Errorf("drop_single_key is %q: write On, Off or raw", v)
	}
	if on {
		return lf, dropOn, nil
	}
	return lf, dropOff, nil
}

// line writes fields (keys already removed) as the log line.
func (o *Output) line(fields map[string]any) (string, error) {
	if o.drop != dropOff && len(fields) == 1 {
		for _, v := range fields {
			return o.singleValue(v)
		}
	}
	if o.lineFormat == lineKeyValue {
		parts := make([]string, 0, len(fields))
		for _, k := range httpout.SortedKeys(fields) {
			parts = append(parts, k+"="+kvValue(fields[k]))
		}
		return strings.Join(parts, " "), nil
	}
	b, err := httpout.MarshalJSON(fields)
	return string(b), err
}

// singleValue is the line of drop_single_key: a string as it is (json
// with raw, or key_value), anything else encoded.
func (o *Output) singleValue(v any) (string, error) {
	s, isString := v.(string)
	if isString && (o.drop == dropRaw || o.lineFormat == lineKeyValue) {
		return s, nil
	}
	if o.lineFormat == lineKeyValue {
		return kvValue(v), nil
	}
	b, err := httpout.MarshalJSON(v)
	return string(b), err
}

// kvValue writes a value of a key_value line as Fluent Bit does: strings
// in double quotes, arrays as "[a b]", maps as "map[k:v]".
func kvValue(v any) string {
	switch v := v.(type) {
	case string:
		return `"` + v + `"`
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case float64:
		// A whole number was an integer in the JSON the record came from.
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', 16, 64)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = kvValue(e)
		}
		return `"[` + strings.Join(parts, " ") + `]"`
	case map[string]any:
		parts := make([]string, 0, len(v))
		for _, k := range httpout.SortedKeys(v) {
			parts = append(parts, k+":"+kvValue(v[k]))
		}
		return `"map[` + strings.Join(parts, " ") + `]"`
	}
	return logpipe.ValueText(v)
}
