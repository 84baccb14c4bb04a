package httpout

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PrintValue writes v as msgpack-c's msgpack_object_print does, the text
// Fluent Bit's stdout (Format msgpack, its default) and file (csv, ltsv)
// outputs show: strings in double quotes as they are, maps as
// {"k"=>"v", ...}, arrays as [a, b], nil as nil, floats with six
// decimals.
//
// Fields decoded from JSON hold every number as float64, where Fluent
// Bit's JSON parser keeps integers as integers: a whole float64 is
// printed as an integer so a record prints as it would in Fluent Bit.
// Map keys are printed sorted, as Go maps keep no order.
func PrintValue(v any) string {
	var b strings.Builder
	printValue(&b, v)
	return b.String()
}

func printValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		b.WriteByte('"')
		b.WriteString(v)
		b.WriteByte('"')
	case float64:
		b.WriteString(printFloat(v))
	case float32:
		b.WriteString(printFloat(float64(v)))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			printValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range SortedKeys(v) {
			if i > 0 {
				b.WriteString(", ")
			}
			printValue(b, k)
			b.WriteString("=>")
			printValue(b, v[k])
		}
		b.WriteByte('}')
	default:
		// A type a filter may have stored that msgpack has no name for.
		b.WriteString(fmt.Sprint(v))
	}
}

func printFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// PrintTime writes t as Fluent Bit's stdout does: seconds, a dot and
// nine digits of nanoseconds.
func PrintTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + pad9(t.Nanosecond())
}

// DoubleTime writes t as C's "%f" of Fluent Bit's flb_time_to_double:
// seconds with six decimals (file's out_file, csv and ltsv formats).
func DoubleTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', 6, 64)
}

func pad9(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", 9-len(s)) + s
}

// SortedKeys returns m's keys in order, for output that must not change
// from one run to the next.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
