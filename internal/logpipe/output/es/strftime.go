package es

import (
	"strconv"
	"strings"
	"time"
)

// strftime formats t as C's strftime does for the conversions Fluent Bit
// configs use in Logstash_DateFormat and Time_Key_Format. An unknown
// conversion is written as it stands.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		b.WriteString(conversion(format[i], t))
	}
	return b.String()
}

func conversion(c byte, t time.Time) string {
	switch c {
	case 'Y':
		return strconv.Itoa(t.Year())
	case 'y':
		return pad2(t.Year() % 100)
	case 'm':
		return pad2(int(t.Month()))
	case 'd':
		return pad2(t.Day())
	case 'e':
		return t.Format("_2")
	case 'H':
		return pad2(t.Hour())
	case 'I':
		return t.Format("03")
	case 'M':
		return pad2(t.Minute())
	case 'S':
		return pad2(t.Second())
	case 'j':
		return t.Format("002")
	case 'p':
		return t.Format("PM")
	case 'b', 'h':
		return t.Format("Jan")
	case 'B':
		return t.Format("January")
	case 'a':
		return t.Format("Mon")
	case 'A':
		return t.Format("Monday")
	case 'z':
		return t.Format("-0700")
	case 'Z':
		return t.Format("MST")
	case 's':
		return strconv.FormatInt(t.Unix(), 10)
	case 'F':
		return t.Format("2006-01-02")
	case 'T':
		return t.Format("15:04:05")
	case 'D':
		return t.Format("01/02/06")
	case '%':
		return "%"
	}
	return "%" + string(c)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
