package parser

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// valueType is what Types converts a field's text to.
type valueType int

const (
	typeString valueType = iota
	typeInteger
	typeFloat
	typeBool
	typeHex
)

var typeNames = map[string]valueType{
	"string": typeString, "integer": typeInteger, "float": typeFloat, "bool": typeBool, "hex": typeHex,
}

// types maps a field name to its type, from "Types code:integer ok:bool".
type types map[string]valueType

// parseTypes reads Types. Fluent Bit skips an entry without a colon and
// takes an unknown type name as string; fargo refuses the unknown name,
// which is almost always a typo ("int" for "integer").
func parseTypes(v string) (types, error) {
	out := types{}
	for _, entry := range strings.Fields(v) {
		key, name, ok := strings.Cut(entry, ":")
		if !ok || key == "" {
			continue
		}
		vt, known := typeNames[strings.ToLower(name)]
		if !known {
			return nil, fmt.Errorf("Types: %q has type %q: write integer, float, bool, hex or string", key, name)
		}
		out[key] = vt
	}
	return out, nil
}

// convert gives key's value its type, with C's lenient conversions as
// Fluent Bit uses them: "12ms" as integer is 12, "abc" is 0. A bool that
// is neither true nor false stays a string (Fluent Bit warns "cast
// error").
func (ts types) convert(key, value string) any {
	vt, ok := ts[key]
	if !ok {
		return value
	}
	switch vt {
	case typeInteger:
		return atoll(value)
	case typeFloat:
		return atof(value)
	case typeHex:
		return hexValue(value)
	case typeBool:
		switch {
		case len(value) >= 4 && strings.EqualFold(value[:4], "true"):
			return true
		case len(value) >= 5 && strings.EqualFold(value[:5], "false"):
			return false
		}
	}
	return value
}

// atoll reads a leading whole number, as C's atoll: spaces, a sign,
// digits; the rest is ignored.
func atoll(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	for end < len(s) && isDigit(s[end]) {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0 // no digits
	}
	return n // ParseInt clamps an overflow to the int64 limits, as glibc's atoll does
}

// atof reads a leading decimal or exponent number, as C's atof.
func atof(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	n := 0
	for n < len(s) && strings.IndexByte("+-.0123456789eE", s[n]) >= 0 {
		n++
	}
	for end := n; end > 0; end-- {
		if f, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return f
		}
	}
	return 0
}

// hexValue reads a leading hexadecimal number (an optional 0x), as C's
// strtoull with base 16. It is an int64 when it fits, as the rest of the
// record's integers are, else a float64.
func hexValue(s string) any {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	end := 0
	for end < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[end]) >= 0 {
		end++
	}
	u, err := strconv.ParseUint(s[:end], 16, 64)
	if err != nil && end == 0 {
		return int64(0)
	}
	if u > math.MaxInt64 {
		return float64(u)
	}
	return int64(u)
}
