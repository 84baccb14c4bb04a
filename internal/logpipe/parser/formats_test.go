package parser

import (
	"reflect"
	"testing"
	"time"
)

type formatCase struct {
	text string
	want map[string]any // nil: must not match
}

func checkFormat(t *testing.T, p interface {
	Parse(string) (map[string]any, time.Time, bool)
}, cases []formatCase) {
	t.Helper()
	for _, tc := range cases {
		fields, _, ok := p.Parse(tc.text)
		if tc.want == nil {
			if ok {
				t.Errorf("%q: matched %#v, want no match", tc.text, fields)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(fields, tc.want) {
			t.Errorf("%q: %#v %v, want %#v", tc.text, fields, ok, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	checkFormat(t, mustNew(t, "Name j", "Format json"), []formatCase{
		{`{"level":"info","n":3,"ok":true,"none":null,"tags":["a",1],"req":{"path":"/x","ms":1.5}}`,
			map[string]any{"level": "info", "n": 3.0, "ok": true, "none": nil, "tags": []any{"a", 1.0},
				"req": map[string]any{"path": "/x", "ms": 1.5}}},
		{"  {\"a\":\"b\"}\n", map[string]any{"a": "b"}},
		{`{}`, map[string]any{}},
		{`{"a":"\u00e9\n"}`, map[string]any{"a": "é\n"}},
		{`["a"]`, nil},
		{`"text"`, nil},
		{`null`, nil},
		{`{"a":1}{"b":2}`, nil},
		{`{"a":1} trailing`, nil},
		{`{"a":`, nil},
		{`plain text`, nil},
	})
}

func TestJSONTime(t *testing.T) {
	p := mustNew(t, "Name j", "Format json", "Time_Key ts", "Time_Format %Y-%m-%dT%H:%M:%S%z")
	fields, got, ok := p.Parse(`{"ts":"2026-12-04T05:04:10Z","msg":"hi"}`)
	if !ok || !got.Equal(time.Date(2026, 12, 4, 5, 4, 10, 0, time.UTC)) || !reflect.DeepEqual(fields, map[string]any{"msg": "hi"}) {
		t.Errorf("parsed time: %v %v %v", fields, got, ok)
	}
	fields, got, ok = p.Parse(`{"ts":1796360650,"msg":"hi"}`)
	if !ok || !got.IsZero() || fields["ts"] != 1796360650.0 {
		t.Errorf("numeric time is left alone: %v %v %v", fields, got, ok)
	}
}

func TestLogfmt(t *testing.T) {
	checkFormat(t, mustNew(t, "Name l", "Format logfmt"), []formatCase{
		{`level=info msg="hello \"world\"\tagain" path=/api/v1 flag empty= quoted=""`,
			map[string]any{"level": "info", "msg": "hello \"world\"\tagain", "path": "/api/v1", "flag": true, "empty": true, "quoted": ""}},
		{`  a=1   b=2  `, map[string]any{"a": "1", "b": "2"}},
		{`a=1` + "\n" + `b=2`, map[string]any{"a": "1"}},            // a line break right after a pair ends the record
		{`a=1 ` + "\n" + `b=2`, map[string]any{"a": "1", "b": "2"}}, // elsewhere it is skipped like a space
		{`a=b=c`, map[string]any{"a": "b", "c": true}},
		{`msg="unterminated`, map[string]any{"msg": "unterminated"}},
		{`u="caf\u00e9 \x41\101\q"`, map[string]any{"u": "café AAq"}},
		{`just some words`, map[string]any{"just": true, "some": true, "words": true}},
		{`=== ""`, nil},
		{``, nil},
	})
	checkFormat(t, mustNew(t, "Name l", "Format logfmt", "Logfmt_No_Bare_Keys On"), []formatCase{
		{`a=1 b=`, map[string]any{"a": "1", "b": true}},
		{`a=1 flag`, nil},
		{`just words`, nil},
	})
	checkFormat(t, mustNew(t, "Name l", "Format logfmt", "Types n:integer ok:bool"), []formatCase{
		{`n=42 ok=true s=x`, map[string]any{"n": int64(42), "ok": true, "s": "x"}},
	})
}

func TestLogfmtTime(t *testing.T) {
	p := mustNew(t, "Name l", "Format logfmt", "Time_Format %Y-%m-%dT%H:%M:%S%z")
	fields, got, ok := p.Parse(`time=2026-12-04T05:04:10Z level=info`)
	if !ok || !got.Equal(time.Date(2026, 12, 4, 5, 4, 10, 0, time.UTC)) || !reflect.DeepEqual(fields, map[string]any{"level": "info"}) {
		t.Errorf("time: %v %v %v", fields, got, ok)
	}
	// Fluent Bit's logfmt parser fails the whole line on a bad time.
	if fields, _, ok := p.Parse(`time=soon level=info`); ok {
		t.Errorf("bad time matched: %v", fields)
	}
}

func TestLTSV(t *testing.T) {
	checkFormat(t, mustNew(t, "Name l", "Format ltsv", "Types status:integer"), []formatCase{
		{"host:127.0.0.1\tident:-\treq:GET /a b HTTP/1.1\tstatus:200\tsize:",
			map[string]any{"host": "127.0.0.1", "ident": "-", "req": "GET /a b HTTP/1.1", "status": int64(200), "size": ""}},
		{"a:1\tb:2\nc:3", map[string]any{"a": "1", "b": "2"}},
		{"a:1\tnot a label:2\tc:3", map[string]any{"a": "1"}},
		{"a:x:y", map[string]any{"a": "x:y"}},
		{":orphan\tb:2", map[string]any{"b": "2"}},
		{"no pairs here", nil},
		{"", nil},
	})
	p := mustNew(t, "Name l", "Format ltsv", "Time_Key at", "Time_Format %d/%b/%Y:%H:%M:%S %z", "Time_Keep On")
	fields, got, ok := p.Parse("at:04/Dec/2026:05:04:10 +0000\tstatus:200")
	if !ok || !got.Equal(time.Date(2026, 12, 4, 5, 4, 10, 0, time.UTC)) || fields["at"] != "04/Dec/2026:05:04:10 +0000" {
		t.Errorf("ltsv time: %v %v %v", fields, got, ok)
	}
	if _, _, ok := p.Parse("at:soon\tstatus:200"); ok {
		t.Error("bad time matched")
	}
}
