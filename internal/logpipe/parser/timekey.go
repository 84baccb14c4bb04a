package parser

import (
	"fmt"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// timeKey is how a parser reads the record time from a field: Time_Key,
// Time_Format, Time_Keep, Time_Strict, Time_Offset and
// Time_System_Timezone.
type timeKey struct {
	key    string
	layout *timeLayout // nil: no Time_Format, so no time is read
	keep   bool
	strict bool
	offset int            // seconds east of UTC, for formats without a zone
	local  *time.Location // Time_System_Timezone On: the system zone instead
	now    func() time.Time
}

func newTimeKey(p logpipe.Params) (timeKey, error) {
	tk := timeKey{key: "time", now: time.Now}
	if v, ok := p.Get("Time_Key"); ok && v != "" {
		tk.key = v // Fluent Bit reads "time" when Time_Format is set without Time_Key
	}
	var err error
	if tk.keep, err = p.Bool("Time_Keep", false); err != nil {
		return tk, err
	}
	if tk.strict, err = p.Bool("Time_Strict", true); err != nil {
		return tk, err
	}
	local, err := p.Bool("Time_System_Timezone", false)
	if err != nil {
		return tk, err
	}
	if local {
		tk.local = time.Local
	}
	if v, ok := p.Get("Time_Offset"); ok && v != "" {
		if tk.offset, err = parseOffset(v); err != nil {
			return tk, err
		}
	}
	if format, ok := p.Get("Time_Format"); ok {
		if tk.layout, err = compileTimeFormat(format); err != nil {
			return tk, err
		}
	}
	return tk, nil
}

// parseOffset reads Time_Offset as Fluent Bit does: Z, or +hhmm, +hh:mm
// (or - for west of UTC).
func parseOffset(v string) (int, error) {
	s := strings.TrimSpace(v)
	if s == "Z" {
		return 0, nil
	}
	bad := fmt.Errorf("Time_Offset is %q: write it as +hhmm or -hh:mm, e.g. +0900", v)
	if len(s) < 5 || (s[0] != '+' && s[0] != '-') {
		return 0, bad
	}
	digits := s[1:]
	if len(digits) == 5 && digits[2] == ':' {
		digits = digits[:2] + digits[3:]
	}
	if len(digits) != 4 {
		return 0, bad
	}
	for i := range 4 {
		if !isDigit(digits[i]) {
			return 0, bad
		}
	}
	h := int(digits[0]-'0')*10 + int(digits[1]-'0')
	m := int(digits[2]-'0')*10 + int(digits[3]-'0')
	if h > 23 || m > 59 {
		return 0, bad
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}

// active says the parser reads a time: Fluent Bit looks up the time key
// only when Time_Format is set.
func (tk *timeKey) active() bool { return tk.layout != nil }

// parse reads the time in value. ok is false when the value does not fit
// the format and Time_Strict is on (the default); with Time_Strict Off
// whatever was read before the mismatch makes the time, as in Fluent Bit.
func (tk *timeKey) parse(value string) (time.Time, bool) {
	t, ok := tk.layout.parse(value, tk.now)
	if !ok && tk.strict {
		return time.Time{}, false
	}
	if t.epoch || tk.layout.hasZone {
		return t.at(nil), true
	}
	if tk.local != nil {
		return t.at(tk.local), true
	}
	t.gmtoff = tk.offset
	return t.at(nil), true
}
