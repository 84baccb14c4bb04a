package strftime

import (
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC)
	pm := time.Date(2025, 12, 31, 23, 9, 0, 5e6, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		format string
		t      time.Time
		want   string
	}{
		{"%Y-%m-%dT%H:%M:%S", at, "2025-03-04T05:06:07"},
		{"%Y-%m-%dT%H:%M:%S.%3N%z", at, "2025-03-04T05:06:07.891+0000"},
		{"%s.%9N", at, "1741064767.891234567"},
		{"%L|%j|%b %e|100%%", at, "891234567|063|Mar  4|100%"},
		{"%Y.%m.%d", at, "2025.03.04"}, // Logstash_DateFormat's default
		{"%y %I%p %a %A %h %B %Z %z", pm, "25 11PM Wed Wednesday Dec December CET +0100"},
		{"%F %T|%D|%R|%c", at, "2025-03-04 05:06:07|03/04/25|05:06|Tue Mar  4 05:06:07 2025"},
		{"%u%w|%u%w", at, "22|22"},
		{"%u%w", time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC), "70"}, // Sunday
		{"%3N", pm, "005"},
		{"a%nb%tc", at, "a\nb\tc"},
		{"%Q|%3|%", at, "%Q|%3|%"}, // unknown and cut-off directives stay as written
		{"%Y", time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC), "999"},
	} {
		if got := Format(tc.format, tc.t); got != tc.want {
			t.Errorf("Format(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []string{"%Y-%m-%dT%H:%M:%S.%3NZ", "%s.%9N", "%L %j %c %R %u %w %% %n %t", "plain", "100%"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"%Y %Q", "%6N"} {
		err := Check(bad)
		if err == nil || !strings.Contains(err.Error(), bad[len(bad)-2:]) || !strings.Contains(err.Error(), "%3N for milliseconds") {
			t.Errorf("Check(%q) = %v, want an error naming the directive and the ones to use", bad, err)
		}
	}
}
