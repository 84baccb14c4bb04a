package httpout

import (
	"fmt"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// DateFormat is how json_date_format writes a record's time.
type DateFormat int

// The json_date_format values of Fluent Bit.
const (
	DateDouble           DateFormat = iota // seconds with a fraction: 1700000000.123456
	DateEpoch                              // whole seconds: 1700000000
	DateEpochMillis                        // whole milliseconds: 1700000000123
	DateISO8601                            // 2023-11-14T22:13:20.123456Z
	DateJavaSQLTimestamp                   // 2023-11-14 22:13:20.123456
)

// DateKey is where and how a JSON encoding writes each record's time: Key
// is empty when json_date_key is Off (no time is written).
type DateKey struct {
	Key    string
	Format DateFormat
}

// ReadDateKey reads json_date_key (default "date"; false or off leaves
// the time out) and json_date_format (default double).
func ReadDateKey(p logpipe.Params) (DateKey, error) {
	d := DateKey{Key: p.String("json_date_key", "date")}
	switch strings.ToLower(d.Key) {
	case "false", "off", "no":
		d.Key = ""
	}
	v := p.String("json_date_format", "double")
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "double":
		d.Format = DateDouble
	case "epoch":
		d.Format = DateEpoch
	case "epoch_ms":
		d.Format = DateEpochMillis
	case "iso8601":
		d.Format = DateISO8601
	case "java_sql_timestamp":
		d.Format = DateJavaSQLTimestamp
	default:
		return d, fmt.Errorf("json_date_format is %q: write double, epoch, epoch_ms, iso8601 or java_sql_timestamp", v)
	}
	return d, nil
}

// Value returns t as the format writes it into JSON: a number or a
// string. Times are UTC, as Fluent Bit writes them.
func (f DateFormat) Value(t time.Time) any {
	t = t.UTC()
	switch f {
	case DateEpoch:
		return t.Unix()
	case DateEpochMillis:
		return t.UnixMilli()
	case DateISO8601:
		return t.Format("2006-01-02T15:04:05.000000Z")
	case DateJavaSQLTimestamp:
		return t.Format("2006-01-02 15:04:05.000000")
	}
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// Fields returns rec's fields with the time added at the date key (a
// copy; rec is not changed).
func (d DateKey) Fields(rec logpipe.Record) map[string]any {
	if d.Key == "" {
		return rec.Fields
	}
	out := make(map[string]any, len(rec.Fields)+1)
	for k, v := range rec.Fields {
		out[k] = v
	}
	out[d.Key] = d.Format.Value(rec.Time)
	return out
}
