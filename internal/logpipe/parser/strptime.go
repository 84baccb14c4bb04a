package parser

import (
	"fmt"
	"strings"
	"time"
)

// timeLayout is a compiled Time_Format: Fluent Bit's strptime (a BSD
// strptime plus %L for fractional seconds), checked once at config time so
// that an unsupported directive is an error then, not a warning per line.
type timeLayout struct {
	steps []step
	// hasYear says the format sets the year itself (%Y, %y or %s); when it
	// does not, Fluent Bit supplies the current year, month and day, so
	// "%b %d %H:%M:%S" (syslog) lands in this year.
	hasYear bool
	// hasZone says the format reads its own zone (%z, %Z, or a literal Z
	// after the seconds); otherwise Time_Offset applies.
	hasZone bool
}

// step is one element of a format: a directive ('Y', 'L', ...), a run of
// white space (' '), or a literal byte (verb 0).
type step struct {
	verb byte
	lit  byte
}

// compound directives expand to simpler ones, as BSD strptime does (in
// the C locale).
var compound = map[byte]string{
	'D': "%m/%d/%y",
	'F': "%Y-%m-%d",
	'R': "%H:%M",
	'r': "%I:%M:%S %p",
	'T': "%H:%M:%S",
	'c': "%a %b %e %H:%M:%S %Y",
	'x': "%m/%d/%y",
	'X': "%H:%M:%S",
}

// simple lists the directives read by parseStep.
const simple = "YymdeHkIlMSLjbBhaApzZsCnt%UWwuVgG"

func compileTimeFormat(format string) (*timeLayout, error) {
	if format == "" {
		return nil, fmt.Errorf("Time_Format is empty: write a strptime format such as %%Y-%%m-%%dT%%H:%%M:%%S.%%L%%z")
	}
	steps, err := compileSteps(format, 0)
	if err != nil {
		return nil, err
	}
	l := &timeLayout{steps: steps}
	l.hasYear = strings.Contains(format, "%Y") || strings.Contains(format, "%y") || strings.Contains(format, "%s")
	l.hasZone = strings.Contains(format, "%z") || strings.Contains(format, "%Z") ||
		strings.Contains(format, "%SZ") || strings.Contains(format, "%S.%LZ")
	return l, nil
}

func compileSteps(format string, depth int) ([]step, error) {
	var steps []step
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case isSpace(c):
			steps = append(steps, step{verb: ' '})
		case c != '%':
			steps = append(steps, step{lit: c})
		case i+1 == len(format):
			return nil, fmt.Errorf("Time_Format %q ends with a lone %%: write %%%% for a literal %%", format)
		default:
			i++
			d := format[i]
			if d == 'E' || d == 'O' { // alternative-representation modifiers change nothing in the C locale
				if i+1 == len(format) {
					return nil, fmt.Errorf("Time_Format %q ends with %%%c: add the directive it modifies", format, d)
				}
				i++
				d = format[i]
			}
			if sub, ok := compound[d]; ok && depth == 0 {
				inner, err := compileSteps(sub, depth+1)
				if err != nil {
					return nil, err
				}
				steps = append(steps, inner...)
				continue
			}
			if !strings.ContainsRune(simple, rune(d)) {
				return nil, fmt.Errorf("Time_Format %q uses %%%c, which Fluent Bit's strptime does not know: use %%Y %%m %%d %%H %%M %%S %%L %%z and the like", format, d)
			}
			steps = append(steps, step{verb: d})
		}
	}
	return steps, nil
}

// tm is the broken-down time strptime fills in, like C's struct tm.
type tm struct {
	year, mon, mday, hour, min, sec, nsec int // mon is 0-11
	yday                                  int
	ydaySet, monSet, mdaySet              bool
	relYear, century                      int // %y and %C; -1 when unset
	gmtoff                                int
	epoch                                 bool // %s set everything, in UTC
}

// parse reads value. ok is false when the value does not fit the format;
// then tm holds what was read before the mismatch, which Time_Strict Off
// uses as Fluent Bit does. Text after the format is ignored, as
// strptime ignores it.
func (l *timeLayout) parse(value string, clock func() time.Time) (tm, bool) {
	t := tm{relYear: -1, century: -1}
	if !l.hasYear {
		now := clock().UTC()
		t.year, t.mon, t.mday = now.Year(), int(now.Month())-1, now.Day()
	}
	s := value
	for _, st := range l.steps {
		if st.verb == ' ' {
			s = trimSpace(s)
			continue
		}
		if s == "" {
			return t.finish(), false
		}
		var ok bool
		if st.verb == 0 {
			s, ok = strings.CutPrefix(s, string(st.lit))
		} else {
			s, ok = t.parseStep(st.verb, s)
		}
		if !ok {
			return t.finish(), false
		}
	}
	return t.finish(), true
}

// finish resolves %y/%C and a day of year (%j) into the date, as BSD
// strptime does after reading.
func (t tm) finish() tm {
	if t.relYear >= 0 {
		switch {
		case t.century >= 0:
			t.year = t.century + t.relYear
		case t.relYear <= 68:
			t.year = 2000 + t.relYear
		default:
			t.year = 1900 + t.relYear
		}
	}
	if t.ydaySet {
		days := t.yday
		if !t.monSet {
			t.mon = 0
			for t.mon < 12 && days >= monthDays(t.year, t.mon) {
				days -= monthDays(t.year, t.mon)
				t.mon++
			}
		}
		if !t.mdaySet {
			t.mday = days + 1
		}
	}
	return t
}

func monthDays(year, mon int) int {
	return time.Date(year, time.Month(mon+2), 0, 0, 0, 0, 0, time.UTC).Day()
}

// at turns t into an instant. zone is used when the format has no zone
// of its own: Time_Offset, or the system zone.
func (t tm) at(zone *time.Location) time.Time {
	loc := time.UTC
	if zone != nil {
		loc = zone
	}
	base := time.Date(t.year, time.Month(t.mon+1), t.mday, t.hour, t.min, t.sec, t.nsec, loc)
	if zone == nil {
		base = base.Add(-time.Duration(t.gmtoff) * time.Second)
	}
	return base
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimSpace(s string) string {
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}
