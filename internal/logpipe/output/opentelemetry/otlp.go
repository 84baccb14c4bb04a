package opentelemetry

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout"
)

// The OTLP JSON encoding of logs (opentelemetry-proto's
// ExportLogsServiceRequest under the protobuf JSON mapping: lowerCamelCase
// names, 64-bit integers as strings).

type exportRequest struct {
	ResourceLogs []resourceLogs `json:"resourceLogs"`
}

type resourceLogs struct {
	Resource  resource    `json:"resource"`
	ScopeLogs []scopeLogs `json:"scopeLogs"`
}

type resource struct {
	Attributes []keyValue `json:"attributes,omitempty"`
}

type scopeLogs struct {
	Scope      scope       `json:"scope"`
	LogRecords []logRecord `json:"logRecords"`
}

type scope struct {
	Name string `json:"name,omitempty"`
}

type logRecord struct {
	TimeUnixNano         string     `json:"timeUnixNano"`
	ObservedTimeUnixNano string     `json:"observedTimeUnixNano"`
	Body                 anyValue   `json:"body"`
	Attributes           []keyValue `json:"attributes,omitempty"`
}

type keyValue struct {
	Key   string   `json:"key"`
	Value anyValue `json:"value"`
}

// anyValue is OTLP's AnyValue: exactly one field set, or none for an
// empty value (a null field).
type anyValue struct {
	StringValue *string      `json:"stringValue,omitempty"`
	BoolValue   *bool        `json:"boolValue,omitempty"`
	IntValue    *string      `json:"intValue,omitempty"`
	DoubleValue *float64     `json:"doubleValue,omitempty"`
	ArrayValue  *arrayValue  `json:"arrayValue,omitempty"`
	KvlistValue *kvlistValue `json:"kvlistValue,omitempty"`
}

type arrayValue struct {
	Values []anyValue `json:"values"`
}

type kvlistValue struct {
	Values []keyValue `json:"values"`
}

// exportResponse is the part of the reply that reports records the
// receiver took in but rejected.
type exportResponse struct {
	PartialSuccess struct {
		// int64, a string in the JSON mapping; some receivers write a number.
		RejectedLogRecords json.RawMessage `json:"rejectedLogRecords"`
		ErrorMessage       string          `json:"errorMessage"`
	} `json:"partialSuccess"`
}

// toAny converts a field value. A whole float64 becomes an intValue: it
// was an integer in the JSON the record came from.
func toAny(v any) anyValue {
	switch v := v.(type) {
	case string:
		return anyValue{StringValue: &v}
	case bool:
		return anyValue{BoolValue: &v}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return intValue(int64(v))
		}
		return anyValue{DoubleValue: &v}
	case int:
		return intValue(int64(v))
	case int64:
		return intValue(v)
	case []any:
		arr := &arrayValue{Values: make([]anyValue, len(v))}
		for i, e := range v {
			arr.Values[i] = toAny(e)
		}
		return anyValue{ArrayValue: arr}
	case map[string]any:
		return anyValue{KvlistValue: &kvlistValue{Values: toKeyValues(v)}}
	case nil:
		return anyValue{}
	}
	s := httpout.PrintValue(v)
	return anyValue{StringValue: &s}
}

func intValue(n int64) anyValue {
	s := strconv.FormatInt(n, 10)
	return anyValue{IntValue: &s}
}

// toKeyValues converts a map, keys sorted so requests are reproducible.
func toKeyValues(m map[string]any) []keyValue {
	out := make([]keyValue, 0, len(m))
	for _, k := range httpout.SortedKeys(m) {
		out = append(out, keyValue{Key: k, Value: toAny(m[k])})
	}
	return out
}
