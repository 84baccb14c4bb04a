package parser

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// params builds a section from "Key Value" lines, as a ConfigMap writes
// them.
func params(lines ...string) logpipe.Params {
	var p logpipe.Params
	for _, l := range lines {
		k, v, _ := strings.Cut(l, " ")
		p = append(p, logpipe.Param{Key: k, Value: strings.TrimSpace(v)})
	}
	return p
}

func mustNew(t *testing.T, lines ...string) logpipe.Parser {
	t.Helper()
	p, err := New(params(lines...))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// The parser of the EKS Fargate logging walkthrough, on containerd's CRI
// lines.
func TestCRIOWalkthroughParser(t *testing.T) {
	p := mustNew(t,
		"Name crio",
		"Format Regex",
		"Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$",
		"Time_Key time",
		"Time_Format %Y-%m-%dT%H:%M:%S.%L%z",
		"Time_Keep On",
	)
	for _, tc := range []struct {
		line   string
		fields map[string]any
		want   time.Time
	}{
		{
			"2026-12-04T05:04:10.487056675Z stdout F hello",
			map[string]any{"time": "2026-12-04T05:04:10.487056675Z", "stream": "stdout", "logtag": "F", "log": "hello"},
			time.Date(2026, 12, 4, 5, 4, 10, 487056675, time.UTC),
		},
		{
			"2026-12-04T05:04:10.487056675+00:00 stderr P part of a line",
			map[string]any{"time": "2026-12-04T05:04:10.487056675+00:00", "stream": "stderr", "logtag": "P", "log": "part of a line"},
			time.Date(2026, 12, 4, 5, 4, 10, 487056675, time.UTC),
		},
		{
			"2026-12-04T14:04:10.5+09:00 stdout F {\"level\":\"info\"}",
			map[string]any{"time": "2026-12-04T14:04:10.5+09:00", "stream": "stdout", "logtag": "F", "log": `{"level":"info"}`},
			time.Date(2026, 12, 4, 5, 4, 10, 500000000, time.UTC),
		},
		{
			// An empty log is skipped: Skip_Empty_Values is on by default.
			"2026-12-04T05:04:10.000000001Z stdout F ",
			map[string]any{"time": "2026-12-04T05:04:10.000000001Z", "stream": "stdout", "logtag": "F"},
			time.Date(2026, 12, 4, 5, 4, 10, 1, time.UTC),
		},
	} {
		fields, got, ok := p.Parse(tc.line)
		if !ok {
			t.Errorf("%q did not match", tc.line)
			continue
		}
		if !reflect.DeepEqual(fields, tc.fields) {
			t.Errorf("%q: fields %v, want %v", tc.line, fields, tc.fields)
		}
		if !got.Equal(tc.want) {
			t.Errorf("%q: time %v, want %v", tc.line, got, tc.want)
		}
	}
	if _, _, ok := p.Parse("hello without a CRI prefix"); ok {
		t.Error("a line without the CRI prefix matched")
	}
}

func TestNewRefusesBadSections(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  []string // parts of the message
	}{
		{[]string{"Format json"}, []string{"no Name"}},
		{[]string{"Name p"}, []string{`parser "p"`, "Format is missing"}},
		{[]string{"Name p", "Format csv"}, []string{`parser "p"`, `Format "csv"`}},
		{[]string{"Name p", "Format regex"}, []string{`parser "p"`, "needs a Regex"}},
		{[]string{"Name p", "Format json", "Decode_Field_As escaped log"}, []string{`parser "p"`, "Decode_Field_As is not supported by fargo yet"}},
		{[]string{"Name p", "Format json", "Decode_Field json log"}, []string{"Decode_Field is not supported by fargo yet"}},
		{[]string{"Name p", "Format json", "Time_Format %Y %Q"}, []string{`parser "p"`, "%Q"}},
		{[]string{"Name p", "Format json", "Time_Format %Y-%"}, []string{"lone %"}},
		{[]string{"Name p", "Format json", "Time_Offset 0900"}, []string{"Time_Offset", "+hhmm"}},
		{[]string{"Name p", "Format json", "Time_Keep maybe"}, []string{"Time_Keep", "On or Off"}},
		{[]string{"Name p", "Format ltsv", "Types code:int"}, []string{"Types", `"int"`, "integer"}},
		{[]string{"Name p", "Format regex", `Regex (?<a>x)\1`}, []string{`parser "p"`, `backreference (\1)`}},
		{[]string{"Name p", "Format regex", "Regex (?<a>x", "Skip_Empty_Values sure"}, []string{"does not compile"}},
	} {
		_, err := New(params(tc.lines...))
		if err == nil {
			t.Errorf("%q: built, want an error", tc.lines)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", tc.lines, err, w)
			}
		}
	}
}

func TestNewSet(t *testing.T) {
	set, err := NewSet([]logpipe.Params{
		params("Name json", "Format json"),
		params("Name kv", "Format logfmt"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 2 || set["json"] == nil || set["kv"] == nil {
		t.Fatalf("set = %v", set)
	}
	if _, _, ok := set["json"].Parse(`{"a":"b"}`); !ok {
		t.Error("json parser of the set does not parse JSON")
	}
	_, err = NewSet([]logpipe.Params{params("Name json", "Format json"), params("Name json", "Format ltsv")})
	if err == nil || !strings.Contains(err.Error(), `parser "json" is defined twice`) {
		t.Errorf("duplicate names: err = %v", err)
	}
	_, err = NewSet([]logpipe.Params{params("Name ok", "Format json"), params("Name bad", "Format yaml")})
	if err == nil || !strings.Contains(err.Error(), `parser "bad"`) {
		t.Errorf("bad section: err = %v", err)
	}
}

func TestTypes(t *testing.T) {
	p := mustNew(t,
		"Name typed",
		"Format regex",
		`Regex ^(?<code>\S+) (?<ok>\S+) (?<ratio>\S+) (?<id>\S+) (?<name>\S+) (?<other>\S+)$`,
		"Types code:integer ok:bool ratio:float id:hex name:string other",
	)
	for _, tc := range []struct {
		line string
		want map[string]any
	}{
		{"200 true 0.25 ff web x",
			map[string]any{"code": int64(200), "ok": true, "ratio": 0.25, "id": int64(255), "name": "web", "other": "x"}},
		{"12ms FALSE 1e3x 0x1A 7 y",
			map[string]any{"code": int64(12), "ok": false, "ratio": 1000.0, "id": int64(26), "name": "7", "other": "y"}},
		{"abc yes nan zz n z", // C conversions give 0; a bool neither true nor false stays text
			map[string]any{"code": int64(0), "ok": "yes", "ratio": 0.0, "id": int64(0), "name": "n", "other": "z"}},
		{"-5 True -2.5 10 n z",
			map[string]any{"code": int64(-5), "ok": true, "ratio": -2.5, "id": int64(16), "name": "n", "other": "z"}},
	} {
		fields, _, ok := p.Parse(tc.line)
		if !ok || !reflect.DeepEqual(fields, tc.want) {
			t.Errorf("%q: %#v %v, want %#v", tc.line, fields, ok, tc.want)
		}
	}
}

func TestRegexFields(t *testing.T) {
	p := mustNew(t, "Name p", "Format regex", `Regex ^(?<a>\w+)(?: (?<b>\w+))?( (?<c>\w*))?`)
	fields, _, ok := p.Parse("one")
	if !ok || !reflect.DeepEqual(fields, map[string]any{"a": "one"}) {
		t.Errorf("optional groups that did not match: %v %v", fields, ok)
	}
	keep := mustNew(t, "Name p", "Format regex", `Regex ^(?<a>\w+)(?: (?<b>\w+))?( (?<c>\w*))?`, "Skip_Empty_Values Off")
	fields, _, ok = keep.Parse("one two ")
	if !ok || !reflect.DeepEqual(fields, map[string]any{"a": "one", "b": "two", "c": ""}) {
		t.Errorf("Skip_Empty_Values Off: %v %v", fields, ok)
	}
	// Only named groups give fields; a regex without groups makes no record.
	if _, _, ok := mustNew(t, "Name p", "Format regex", "Regex ^x").Parse("x"); ok {
		t.Error("a regex without groups matched")
	}
	// The match is searched for anywhere, and ^ and $ work on lines, as
	// in Onigmo: a multiline-joined text matches its first line.
	fields, _, ok = mustNew(t, "Name p", "Format regex", `Regex ^(?<first>[a-z]+)$`).Parse("12\nabc\ndef")
	if !ok || fields["first"] != "abc" {
		t.Errorf("line anchors: %v %v", fields, ok)
	}
}

func TestRegexTimeHandling(t *testing.T) {
	base := []string{"Name p", "Format regex", `Regex ^(?<time>\S+) (?<msg>.*)$`, "Time_Format %Y-%m-%dT%H:%M:%S"}
	// Time_Keep is off by default: the time field leaves the record.
	fields, got, ok := mustNew(t, base...).Parse("2026-12-04T05:04:10 hi")
	if !ok || !reflect.DeepEqual(fields, map[string]any{"msg": "hi"}) || !got.Equal(time.Date(2026, 12, 4, 5, 4, 10, 0, time.UTC)) {
		t.Errorf("default Time_Keep: %v %v %v", fields, got, ok)
	}
	// A time that does not fit: the record is kept, without the field,
	// and with no time (the router uses the line's own).
	fields, got, ok = mustNew(t, append(base, "Time_Keep On")...).Parse("yesterday hi")
	if !ok || !got.IsZero() || !reflect.DeepEqual(fields, map[string]any{"msg": "hi"}) {
		t.Errorf("bad time: %v %v %v", fields, got, ok)
	}
	// Time_Key names another field; without Time_Format no time is read.
	fields, got, ok = mustNew(t, "Name p", "Format regex", `Regex ^(?<ts>\S+) (?<msg>.*)$`, "Time_Key ts").Parse("2026-12-04T05:04:10 hi")
	if !ok || !got.IsZero() || fields["ts"] != "2026-12-04T05:04:10" {
		t.Errorf("Time_Key without Time_Format: %v %v %v", fields, got, ok)
	}
}
