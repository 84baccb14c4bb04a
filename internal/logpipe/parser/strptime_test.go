package parser

import (
	"testing"
	"time"
)

// timeParser builds a json parser reading "time" with the given extra
// lines, its clock fixed at now.
func timeParser(t *testing.T, now time.Time, lines ...string) *jsonParser {
	t.Helper()
	p := mustNew(t, append([]string{"Name p", "Format json"}, lines...)...).(*jsonParser)
	p.time.now = func() time.Time { return now }
	return p
}

func TestTimeFormats(t *testing.T) {
	now := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		format, value string
		extra         []string
		want          time.Time
	}{
		{"%Y-%m-%dT%H:%M:%S.%L%z", "2026-12-04T05:04:10.487056675Z", nil, utc(2026, 12, 4, 5, 4, 10, 487056675)},
		{"%Y-%m-%dT%H:%M:%S.%L%z", "2026-12-04T14:04:10.487+09:00", nil, utc(2026, 12, 4, 5, 4, 10, 487000000)},
		{"%Y-%m-%dT%H:%M:%S.%L%z", "2026-12-04T00:04:10.1-0500", nil, utc(2026, 12, 4, 5, 4, 10, 100000000)},
		{"%Y-%m-%dT%H:%M:%S.%L%z", "2026-12-04T05:04:10.123456789012Z", nil, utc(2026, 12, 4, 5, 4, 10, 123456789)},
		{"%Y-%m-%dT%H:%M:%S%z", "2026-12-04T06:04:10+01", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y-%m-%dT%H:%M:%S%z", "2026-12-04T00:04:10 EST", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y-%m-%dT%H:%M:%SZ", "2026-12-04T05:04:10Z", []string{"Time_Offset +0900"}, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y-%m-%d %H:%M:%S", "2026-12-04 05:04:10", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y-%m-%d %H:%M:%S", "2026-12-04 14:04:10", []string{"Time_Offset +0900"}, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y-%m-%d %H:%M:%S", "2026-12-04 01:34:10", []string{"Time_Offset -03:30"}, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y-%m-%d %H:%M:%S", "2026-12-04 05:04:10 and more text", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%d/%b/%Y:%H:%M:%S %z", "03/Dec/2026:22:04:10 -0700", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"[%d/%B/%Y:%T]", "[04/december/2026:05:04:10]", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%b %d %H:%M:%S", "Mar  7 09:15:00", nil, utc(2026, 3, 7, 9, 15, 0, 0)}, // syslog: the year is the current one
		{"%b %e %T", "Mar  7 09:15:00", nil, utc(2026, 3, 7, 9, 15, 0, 0)},
		{"%H:%M:%S", "09:15:00", nil, utc(2026, 12, 4, 9, 15, 0, 0)}, // and so are the month and day
		{"%a, %d %b %Y %H:%M:%S %Z", "Fri, 04 Dec 2026 14:04:10 JST", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%A %B %d %Y %T %Z", "Friday December 04 2026 05:04:10 GMT", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%s", "1796360650", nil, time.Unix(1796360650, 0)},
		{"%s.%L", "1796360650.25", nil, time.Unix(1796360650, 250000000)},
		{"%I:%M:%S %p %m/%d/%Y", "05:04:10 PM 12/04/2026", nil, utc(2026, 12, 4, 17, 4, 10, 0)},
		{"%I:%M:%S %p %m/%d/%Y", "12:04:10 am 12/04/2026", nil, utc(2026, 12, 4, 0, 4, 10, 0)},
		{"%y%m%d %T", "261204 05:04:10", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%y%m%d %T", "691204 05:04:10", nil, utc(1969, 12, 4, 5, 4, 10, 0)},
		{"%D %R", "12/04/26 05:04", nil, utc(2026, 12, 4, 5, 4, 0, 0)},
		{"%F %T", "2026-12-04 05:04:10", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y %j %T", "2026 338 05:04:10", nil, utc(2026, 12, 4, 5, 4, 10, 0)},
		{"%Y%%%m%%%d", "2026%12%04", nil, utc(2026, 12, 4, 0, 0, 0, 0)},
		{"%Y-%m-%dT%H:%M:%S", "2026-7-4T5:4:1", nil, utc(2026, 7, 4, 5, 4, 1, 0)},
	} {
		p := timeParser(t, now, append([]string{"Time_Format " + tc.format, "Time_Keep On"}, tc.extra...)...)
		fields, got, ok := p.Parse(`{"time":"` + tc.value + `","log":"x"}`)
		if !ok {
			t.Errorf("%s on %q: no match", tc.format, tc.value)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s on %q: %v, want %v", tc.format, tc.value, got.UTC(), tc.want.UTC())
		}
		if fields["time"] != tc.value {
			t.Errorf("%s: Time_Keep On lost the field: %v", tc.format, fields)
		}
	}
}

func TestTimeFormatMismatch(t *testing.T) {
	now := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	for _, value := range []string{"yesterday", "2026-13-01T00:00:00", "2026-12-04", "2026-12-04T05:04:10.Z", ""} {
		p := timeParser(t, now, "Time_Format %Y-%m-%dT%H:%M:%S.%L%z")
		fields, got, ok := p.Parse(`{"time":"` + value + `","log":"x"}`)
		if !ok || !got.IsZero() {
			t.Errorf("%q: ok %v, time %v; want the record with no time", value, ok, got)
		}
		if fields["time"] != value {
			t.Errorf("%q: the unparsed time field was dropped: %v", value, fields)
		}
	}
	// Time_Strict Off takes what was read before the mismatch.
	p := timeParser(t, now, "Time_Format %Y-%m-%d %H:%M:%S", "Time_Strict Off")
	_, got, ok := p.Parse(`{"time":"2026-12-04"}`)
	if want := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("Time_Strict Off: %v %v, want %v", got, ok, want)
	}
}

func TestConvNumReadsLikeBSD(t *testing.T) {
	for _, tc := range []struct {
		in, rest string
		lo, hi   int
		n        int
		ok       bool
	}{
		{"2026-", "-", 0, 9999, 2026, true},
		{"20261", "1", 0, 9999, 2026, true},
		{"07", "", 1, 12, 7, true},
		{"13", "", 1, 12, 13, false}, // two digits read, then out of range
		{"4:", ":", 1, 31, 4, true},
		{"x", "x", 0, 59, 0, false},
		{"00", "", 1, 31, 0, false},
	} {
		rest, n, ok := convNum(tc.in, tc.lo, tc.hi)
		if rest != tc.rest || ok != tc.ok || (ok && n != tc.n) {
			t.Errorf("convNum(%q, %d, %d) = %q %d %v", tc.in, tc.lo, tc.hi, rest, n, ok)
		}
	}
}
