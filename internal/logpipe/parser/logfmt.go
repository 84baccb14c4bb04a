package parser

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// logfmtParser is Format logfmt, read byte by byte as Fluent Bit reads it
// (https://brandur.org/logfmt):
//
//	key=value key="quoted \"value\"" flag
//
// A bare key (flag) and a key with nothing after its = (key=) are true,
// as in Fluent Bit; key="" is the empty string. Anything that is not a
// key byte between pairs is skipped, so plain text parses as bare keys:
// Logfmt_No_Bare_Keys On makes a line with a bare key not match.
type logfmtParser struct {
	time       timeKey
	types      types
	noBareKeys bool
}

// isKeyByte: any byte above space except = and ".
func isKeyByte(c byte) bool { return c > ' ' && c != '=' && c != '"' }

// Parse reads pairs until the end of text, or a line break right after a
// pair. When the time field does not fit Time_Format the text does not
// match, as in Fluent Bit (it logs "Invalid time format").
func (l *logfmtParser) Parse(text string) (map[string]any, time.Time, bool) {
	fields := map[string]any{}
	var t time.Time
	s := text
	for {
		for s != "" && !isKeyByte(s[0]) {
			s = s[1:]
		}
		if s == "" {
			break
		}
		key, value, bare, rest := nextPair(s)
		s = rest
		if bare && l.noBareKeys {
			return nil, time.Time{}, false
		}
		if str, isStr := value.(string); isStr && l.time.active() && key == l.time.key && str != "" {
			parsed, ok := l.time.parse(str)
			if !ok {
				return nil, time.Time{}, false
			}
			t = parsed
			if !l.time.keep {
				value = nil
			}
		}
		if value != nil {
			if _, typed := l.types[key]; typed {
				str, _ := value.(string)
				value = l.types.convert(key, str)
			}
			fields[key] = value
		}
		if s == "" || s[0] == '\n' || s[0] == '\r' {
			break
		}
	}
	if len(fields) == 0 {
		return nil, time.Time{}, false
	}
	return fields, t, true
}

// nextPair reads key, key=value or key="value" at the start of s. value
// is a string, or true for a key with no value. bare says there was no =.
func nextPair(s string) (key string, value any, bare bool, rest string) {
	i := 0
	for i < len(s) && isKeyByte(s[i]) {
		i++
	}
	key, s = s[:i], s[i:]
	if !strings.HasPrefix(s, "=") {
		return key, true, true, s
	}
	s = s[1:]
	if strings.HasPrefix(s, `"`) {
		raw, escaped, rest := quoted(s[1:])
		if escaped {
			return key, unescape(raw), false, rest
		}
		return key, raw, false, rest
	}
	i = 0
	for i < len(s) && isKeyByte(s[i]) {
		i++
	}
	if i == 0 {
		return key, true, false, s
	}
	return key, s[:i], false, s[i:]
}

// quoted reads up to the closing quote (or the end of s), skipping
// backslash escapes.
func quoted(s string) (raw string, escaped bool, rest string) {
	i := 0
	for i < len(s) && s[i] != '"' {
		if s[i] == '\\' {
			escaped = true
			i++
		}
		i++
	}
	if i > len(s) {
		i = len(s)
	}
	raw, rest = s[:i], s[i:]
	return raw, escaped, strings.TrimPrefix(rest, `"`)
}

var simpleEscapes = map[byte]rune{
	'"': '"', '\'': '\'', '\\': '\\', '/': '/', 'n': '\n', 'b': '\b', 't': '\t',
	'f': '\f', 'r': '\r', 'v': '\v', 'a': '\a',
}

// unescape decodes backslash escapes as Fluent Bit's
// flb_unescape_string_utf8: the JSON ones, \v \a, octal \NNN, \xHH,
// \uHHHH, \UHHHHHHHH; another escaped byte stands for itself.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if r, ok := simpleEscapes[s[i]]; ok {
			b.WriteRune(r)
			continue
		}
		r, n := numericEscape(s[i:])
		b.WriteRune(r)
		i += n - 1
	}
	return b.String()
}

// numericEscape decodes the escape after a backslash: \NNN, \xHH, \uHHHH,
// \UHHHHHHHH, or any other byte as itself. n is the bytes used.
func numericEscape(s string) (r rune, n int) {
	digits, base, max := "", 16, 0
	switch c := s[0]; {
	case c >= '0' && c <= '7':
		base, max = 8, 3
		for n < len(s) && n < max && s[n] >= '0' && s[n] <= '7' {
			n++
		}
		digits = s[:n]
	case c == 'x' || c == 'u' || c == 'U':
		max = map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		n = 1
		for n < len(s) && n <= max && isHex(s[n]) {
			n++
		}
		digits = s[1:n]
	}
	if digits == "" {
		r, size := utf8.DecodeRuneInString(s)
		return r, size
	}
	v, _ := strconv.ParseUint(digits, base, 32)
	return rune(v), n
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
