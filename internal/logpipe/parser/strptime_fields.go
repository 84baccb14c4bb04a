package parser

import (
	"strings"
	"time"
)

var (
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	// North American zone names %z knows, as BSD strptime does: standard
	// time is UTC-5 for EST down to UTC-8 for PST, daylight time one hour
	// more.
	naStandard = []string{"EST", "CST", "MST", "PST"}
	naDaylight = []string{"EDT", "CDT", "MDT", "PDT"}
)

// zoneAbbrevs are the names %Z knows, with their offsets in seconds (the
// common part of Fluent Bit's table of known time zone abbreviations).
var zoneAbbrevs = []struct {
	name   string
	offset int
}{
	{"UTC", 0}, {"GMT", 0}, {"UT", 0}, {"Z", 0},
	{"EST", -5 * 3600}, {"EDT", -4 * 3600}, {"CST", -6 * 3600}, {"CDT", -5 * 3600},
	{"MST", -7 * 3600}, {"MDT", -6 * 3600}, {"PST", -8 * 3600}, {"PDT", -7 * 3600},
	{"AKST", -9 * 3600}, {"AKDT", -8 * 3600}, {"HST", -10 * 3600},
	{"WET", 0}, {"WEST", 3600}, {"BST", 3600}, {"CET", 3600}, {"CEST", 2 * 3600},
	{"EET", 2 * 3600}, {"EEST", 3 * 3600}, {"MSK", 3 * 3600},
	{"IST", 5*3600 + 1800}, {"SGT", 8 * 3600}, {"HKT", 8 * 3600}, {"KST", 9 * 3600},
	{"JST", 9 * 3600}, {"AEST", 10 * 3600}, {"AEDT", 11 * 3600}, {"ACST", 9*3600 + 1800},
	{"AWST", 8 * 3600}, {"NZST", 12 * 3600}, {"NZDT", 13 * 3600},
}

// parseStep reads one directive at the start of s and returns the rest.
func (t *tm) parseStep(verb byte, s string) (string, bool) {
	var n int
	ok := true
	switch verb {
	case 'Y':
		s, n, ok = convNum(s, 0, 9999)
		t.year, t.relYear = n, -1
	case 'y':
		s, t.relYear, ok = convNum(s, 0, 99)
	case 'C':
		s, n, ok = convNum(s, 0, 99)
		t.century = n * 100
	case 'm':
		s, n, ok = convNum(s, 1, 12)
		t.mon, t.monSet = n-1, true
	case 'e':
		if s != "" && isSpace(s[0]) {
			s = s[1:]
		}
		fallthrough
	case 'd':
		s, t.mday, ok = convNum(s, 1, 31)
		t.mdaySet = true
	case 'H', 'k':
		s, t.hour, ok = convNum(s, 0, 23)
	case 'I', 'l':
		s, t.hour, ok = convNum(s, 1, 12)
	case 'M':
		s, t.min, ok = convNum(s, 0, 59)
	case 'S':
		s, t.sec, ok = convNum(s, 0, 60)
	case 'L':
		s, ok = t.fraction(s)
	case 'j':
		s, n, ok = convNum(s, 1, 366)
		t.yday, t.ydaySet = n-1, true
	case 'b', 'B', 'h':
		s, n, ok = findName(s, monthNames)
		t.mon, t.monSet = n, true
	case 'a', 'A':
		s, _, ok = findName(s, dayNames)
	case 'p':
		s, ok = t.meridiem(s)
	case 'z':
		s, ok = t.numericZone(s)
	case 'Z':
		s, ok = t.namedZone(s)
	case 's':
		s, ok = t.epochSeconds(s)
	case 'n', 't':
		s = trimSpace(s)
	case '%':
		s, ok = strings.CutPrefix(s, "%")
	case 'U', 'W', 'V':
		s, _, ok = convNum(s, 0, 53) // week numbers are read and, as in BSD strptime, ignored
	case 'w':
		s, _, ok = convNum(s, 0, 6)
	case 'u':
		s, _, ok = convNum(s, 1, 7)
	case 'g':
		s, _, ok = convNum(s, 0, 99)
	case 'G':
		s = strings.TrimLeft(s[1:], "0123456789")
	}
	return s, ok
}

// convNum reads a decimal number the way BSD strptime's _conv_num does:
// no more digits than the upper limit has, stopping early when one more
// digit would pass the limit.
func convNum(s string, lo, hi int) (string, int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return s, 0, false
	}
	n, rlim := 0, hi
	for {
		n = n*10 + int(s[0]-'0')
		s = s[1:]
		rlim /= 10
		if n*10 > hi || rlim == 0 || s == "" || s[0] < '0' || s[0] > '9' {
			break
		}
	}
	return s, n, n >= lo && n <= hi
}

// fraction reads %L: one or more digits of a second's fraction, kept to
// the nanosecond.
func (t *tm) fraction(s string) (string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return s, false
	}
	digits := s[:i]
	if len(digits) > 9 {
		digits = digits[:9]
	}
	ns := 0
	for j := 0; j < 9; j++ {
		ns *= 10
		if j < len(digits) {
			ns += int(digits[j] - '0')
		}
	}
	t.nsec = ns
	return s[i:], true
}

// findName matches a full or abbreviated (three-letter) name, ignoring
// case, and returns its index.
func findName(s string, names []string) (string, int, bool) {
	for i, name := range names {
		if len(s) >= len(name) && strings.EqualFold(s[:len(name)], name) {
			return s[len(name):], i, true
		}
		if len(s) >= 3 && strings.EqualFold(s[:3], name[:3]) {
			return s[3:], i, true
		}
	}
	return s, 0, false
}

func (t *tm) meridiem(s string) (string, bool) {
	if len(s) < 2 || t.hour > 12 {
		return s, false
	}
	switch strings.ToUpper(s[:2]) {
	case "AM":
		if t.hour == 12 {
			t.hour = 0
		}
	case "PM":
		if t.hour < 12 {
			t.hour += 12
		}
	default:
		return s, false
	}
	return s[2:], true
}

// numericZone reads %z: Z, UT, UTC, GMT, [+-]hh, [+-]hhmm, [+-]hh:mm or a
// North American zone name.
func (t *tm) numericZone(s string) (string, bool) {
	s = trimSpace(s)
	switch {
	case strings.HasPrefix(s, "GMT"):
		t.gmtoff = 0
		return s[3:], true
	case strings.HasPrefix(s, "UT"):
		t.gmtoff = 0
		return strings.TrimPrefix(s[2:], "C"), true
	case strings.HasPrefix(s, "Z"):
		t.gmtoff = 0
		return s[1:], true
	case s == "" || (s[0] != '+' && s[0] != '-'):
		for i := range naStandard {
			if len(s) >= 3 && strings.EqualFold(s[:3], naStandard[i]) {
				t.gmtoff = (-5 - i) * 3600
				return s[3:], true
			}
			if len(s) >= 3 && strings.EqualFold(s[:3], naDaylight[i]) {
				t.gmtoff = (-4 - i) * 3600
				return s[3:], true
			}
		}
		return s, false
	}
	neg := s[0] == '-'
	s = s[1:]
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return s, false
	}
	off := (int(s[0]-'0')*10 + int(s[1]-'0')) * 3600
	s = strings.TrimPrefix(s[2:], ":")
	if s != "" && isDigit(s[0]) {
		if len(s) < 2 || !isDigit(s[1]) {
			return s, false
		}
		off += (int(s[0]-'0')*10 + int(s[1]-'0')) * 60
		s = s[2:]
	}
	if neg {
		off = -off
	}
	t.gmtoff = off
	return s, true
}

// namedZone reads %Z: a zone abbreviation Fluent Bit knows (JST, CEST,
// UTC...), not followed by a letter or digit.
func (t *tm) namedZone(s string) (string, bool) {
	for _, z := range zoneAbbrevs {
		n := len(z.name)
		if len(s) >= n && strings.EqualFold(s[:n], z.name) && (len(s) == n || !isAlnum(s[n])) {
			t.gmtoff = z.offset
			return s[n:], true
		}
	}
	return s, false
}

// epochSeconds reads %s, which sets the whole date in UTC.
func (t *tm) epochSeconds(s string) (string, bool) {
	i := 0
	var n int64
	for i < len(s) && isDigit(s[i]) && i < 18 {
		n = n*10 + int64(s[i]-'0')
		i++
	}
	if i == 0 {
		return s, false
	}
	u := time.Unix(n, 0).UTC()
	t.year, t.mon, t.mday = u.Year(), int(u.Month())-1, u.Day()
	t.hour, t.min, t.sec = u.Hour(), u.Minute(), u.Second()
	t.monSet, t.mdaySet, t.ydaySet = true, true, false
	t.relYear, t.gmtoff, t.epoch = -1, 0, true
	return s[i:], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
