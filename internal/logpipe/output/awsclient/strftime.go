package awsclient

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// strftimeLayouts maps strftime's directives to Go layouts; the ones Go
// has no layout for are written by strftimeDirective.
var strftimeLayouts = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2",
	'H': "15", 'I': "03", 'M': "04", 'S': "05", 'p': "PM",
	'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday",
	'Z': "MST", 'z': "-0700",
	'T': "15:04:05", 'D': "01/02/06", 'F': "2006-01-02", 'R': "15:04",
	'c': "Mon Jan _2 15:04:05 2006",
}

// Strftime writes t with a strftime format, as Fluent Bit's time_key_format
// does, including its fraction directives: %3N (milliseconds), %9N and
// %L (nanoseconds).
func Strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		if format[i] == '3' || format[i] == '9' {
			if i+1 < len(format) && format[i+1] == 'N' {
				b.WriteString(fraction(t, format[i]-'0'))
				i++
				continue
			}
		}
		b.WriteString(strftimeDirective(format[i], t))
	}
	return b.String()
}

func strftimeDirective(c byte, t time.Time) string {
	if layout, ok := strftimeLayouts[c]; ok {
		return t.Format(layout)
	}
	switch c {
	case 'L':
		return fraction(t, 9)
	case 'j':
		return fmt.Sprintf("%03d", t.YearDay())
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
func fraction(t time.Time, digits byte) string {
	ns := fmt.Sprintf("%09d", t.Nanosecond())
	return ns[:digits]
}

// CheckStrftime refuses a format with a directive Strftime does not know,
// so that a typo shows at start, not as "%Q" in every record.
func CheckStrftime(format string) error {
	for i := 0; i+1 < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		c := format[i]
		if (c == '3' || c == '9') && i+1 < len(format) && format[i+1] == 'N' {
			i++
			continue
		}
		if _, ok := strftimeLayouts[c]; ok || strings.IndexByte("Ljsuwnt%", c) >= 0 {
			continue
		}
		return fmt.Errorf("%q has %%%c, which fargo does not know: use %%Y %%m %%d %%H %%M %%S %%z, %%3N for milliseconds or %%L for nanoseconds", format, c)
	}
	return nil
}
