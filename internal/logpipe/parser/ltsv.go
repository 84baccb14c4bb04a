package parser

import "time"

// ltsvParser is Format ltsv (http://ltsv.org): label:value pairs separated
// by tabs. A label is [0-9A-Za-z_.-]+; a value is anything but a tab or a
// line break.
type ltsvParser struct {
	time  timeKey
	types types
}

func isLabelByte(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-'
}

func isFieldByte(c byte) bool { return c != 0 && c != '\t' && c != '\n' && c != '\r' }

// Parse reads pairs up to the end of the first line. Reading stops at a
// label not followed by a colon, keeping what came before, as in Fluent
// Bit. When the time field does not fit Time_Format the text does not
// match, as in Fluent Bit.
func (l *ltsvParser) Parse(text string) (map[string]any, time.Time, bool) {
	fields := map[string]any{}
	var t time.Time
	s := text
	for s != "" {
		i := 0
		for i < len(s) && isLabelByte(s[i]) {
			i++
		}
		label := s[:i]
		if i == len(s) || s[i] != ':' {
			break
		}
		s = s[i+1:]
		i = 0
		for i < len(s) && isFieldByte(s[i]) {
			i++
		}
		value := s[:i]
		s = s[i:]
		keep := label != ""
		if keep && l.time.active() && label == l.time.key && value != "" {
			parsed, ok := l.time.parse(value)
			if !ok {
				return nil, time.Time{}, false
			}
			t, keep = parsed, l.time.keep
		}
		if keep {
			fields[label] = l.types.convert(label, value)
		}
		if len(s) > 0 && s[0] == '\t' {
			s = s[1:]
		}
		if s != "" && (s[0] == '\r' || s[0] == '\n') {
			break
		}
	}
	if len(fields) == 0 {
		return nil, time.Time{}, false
	}
	return fields, t, true
}
