package awsclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/strftime"
)

// Encoder writes a record as the data of one AWS log event, as Fluent
// Bit's AWS plugins do: the record's fields as JSON, or only the value
// of log_key, with time_key added to the JSON when it is set.
type Encoder struct {
	// LogKey, when set, sends only this field's value: a string as it
	// is, anything else as JSON.
	LogKey string
	// TimeKey, when set, adds the record time under this key, written
	// with TimeFormat (strftime), to the JSON of a whole record.
	TimeKey, TimeFormat string
}

// DefaultTimeKeyFormat is Fluent Bit's time_key_format default.
const DefaultTimeKeyFormat = "%Y-%m-%dT%H:%M:%S"

// ReadEncoder reads log_key, time_key and time_key_format.
func ReadEncoder(name string, p logpipe.Params) (Encoder, error) {
	e := Encoder{
		LogKey:     strings.TrimSpace(p.String("log_key", "")),
		TimeKey:    strings.TrimSpace(p.String("time_key", "")),
		TimeFormat: p.String("time_key_format", DefaultTimeKeyFormat),
	}
	if e.TimeKey != "" {
		if err := strftime.Check(e.TimeFormat); err != nil {
			return e, fmt.Errorf("output %q: time_key_format: %w", name, err)
		}
	}
	return e, nil
}

// ErrNoLogKey is returned by Encode for a record without log_key's field;
// Fluent Bit drops such records with an error in its log.
var ErrNoLogKey = fmt.Errorf("the record has no log_key field")

// Encode returns rec's data. An error means the record cannot be sent
// (no log_key field, a value JSON cannot hold); the caller drops it.
func (e Encoder) Encode(rec logpipe.Record) ([]byte, error) {
	if e.LogKey != "" {
		v, ok := rec.Fields[e.LogKey]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrNoLogKey, e.LogKey)
		}
		return ValueBytes(v)
	}
	fields := rec.Fields
	if e.TimeKey != "" {
		fields = maps.Clone(fields)
		if fields == nil {
			fields = map[string]any{}
		}
		fields[e.TimeKey] = strftime.Format(e.TimeFormat, rec.Time.UTC())
	}
	return RecordJSON(fields)
}

// ValueBytes writes one field value: a string as its text, anything else
// as JSON.
func ValueBytes(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return RecordJSON(v)
}

// RecordJSON writes v as Fluent Bit writes records: compact JSON, with
// <, > and & left as they are (Go would escape them for HTML).
func RecordJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("writing the record as JSON: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// TimeMillis is t in milliseconds since the epoch, as CloudWatch Logs
// takes event times.
func TimeMillis(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().UnixMilli()
	}
	return t.UnixMilli()
}
