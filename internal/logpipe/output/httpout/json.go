package httpout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// JSONFormat is one of Fluent Bit's JSON encodings of a batch (the Format
// key of http and stdout).
type JSONFormat int

// The JSON encodings.
const (
	JSON       JSONFormat = iota // one array: [{...},{...}]
	JSONLines                    // one object a line: {...}\n{...}\n
	JSONStream                   // objects one after another: {...}{...}
)

// ParseJSONFormat reads a Format value. msgpack and gelf are refused with
// the fix named: fargo writes only the JSON encodings.
func ParseJSONFormat(v string) (JSONFormat, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "json":
		return JSON, nil
	case "json_lines":
		return JSONLines, nil
	case "json_stream":
		return JSONStream, nil
	case "msgpack":
		return 0, fmt.Errorf("Format is msgpack, which fargo does not write: set Format json_lines (or json, json_stream) and have the receiver read JSON")
	case "gelf":
		return 0, fmt.Errorf("Format gelf is not supported by fargo: set Format json_lines (or json, json_stream)")
	}
	return 0, fmt.Errorf("Format is %q: write json, json_lines or json_stream", v)
}

// Encode writes batch in the format, each record's time at d.
func (f JSONFormat) Encode(batch []logpipe.Record, d DateKey) ([]byte, error) {
	var buf bytes.Buffer
	if f == JSON {
		buf.WriteByte('[')
	}
	for i, rec := range batch {
		if i > 0 && f == JSON {
			buf.WriteByte(',')
		}
		b, err := MarshalJSON(d.Fields(rec))
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		if f == JSONLines {
			buf.WriteByte('\n')
		}
	}
	if f == JSON {
		buf.WriteByte(']')
	}
	return buf.Bytes(), nil
}

// MarshalJSON encodes v as Fluent Bit writes JSON: without Go's escaping
// of <, > and & (which receivers would store escaped) and with no
// trailing newline.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding a record as JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
