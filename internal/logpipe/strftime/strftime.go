package strftime

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// layouts maps strftime's directives to Go layouts; the ones Go has no
// layout for are written by directive.
var layouts = map[byte]string{
	'y': "06", 'm': "01", 'd': "02", 'e': "_2",
	'H': "15", 'I': "03", 'M': "04", 'S': "05", 'p': "PM",
	'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday",
	'Z': "MST", 'z': "-0700", 'j': "002",
	'T': "15:04:05", 'D': "01/02/06", 'F': "2006-01-02", 'R': "15:04",
	'c': "Mon Jan _2 15:04:05 2006",
}

// computed are the directives directive writes without a Go layout.
const computed = "YLsuwnt%"

// Format writes t with a strftime format. A directive it does not know
// is written as it stands, as C's strftime does.
func Format(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		if digits, ok := fractionAt(format, i); ok {
			b.WriteString(fraction(t, digits))
			i++
			continue
		}
		b.WriteString(directive(format[i], t))
	}
	return b.String()
}

// fractionAt reports whether format[i:] is a fraction directive's 3N or
// 9N, and its number of digits.
func fractionAt(format string, i int) (int, bool) {
	c := format[i]
	if (c == '3' || c == '9') && i+1 < len(format) && format[i+1] == 'N' {
		return int(c - '0'), true
	}
	return 0, false
}

func directive(c byte, t time.Time) string {
	if layout, ok := layouts[c]; ok {
		return t.Format(layout)
	}
	switch c {
	case 'Y':
		return strconv.Itoa(t.Year()) // not padded to 4 digits, as C's
	case 'L':
		return fraction(t, 9)
	case 's':
		return strconv.FormatInt(t.Unix(), 10)
	case 'u':
		return strconv.Itoa((int(t.Weekday())+6)%7 + 1)
	case 'w':
		return strconv.Itoa(int(t.Weekday()))
	case 'n':
		return "\n"
	case 't':
		return "\t"
	case '%':
		return "%"
	}
	return "%" + string(c)
}

// fraction writes t's fraction of a second with digits digits.
func fraction(t time.Time, digits int) string {
	ns := fmt.Sprintf("%09d", t.Nanosecond())
	return ns[:digits]
}

// Check refuses a format with a directive Format does not know.
func Check(format string) error {
	for i := 0; i+1 < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if _, ok := fractionAt(format, i); ok {
			i++
			continue
		}
		c := format[i]
		if _, ok := layouts[c]; ok || strings.IndexByte(computed, c) >= 0 {
			continue
		}
		return fmt.Errorf("%q has %%%c, which fargo does not know: use %%Y %%m %%d %%H %%M %%S %%z, %%3N for milliseconds or %%L for nanoseconds", format, c)
	}
	return nil
}
