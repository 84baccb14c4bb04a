package filter

import (
	"testing"
	"time"
)

const criLine = `2024-05-01T10:00:00.123456789Z stdout F GET /index.html 200`

var criTime = time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)

func TestParserReplacesRecordWithParsedFields(t *testing.T) {
	f := mustNew(t, Deps{Parsers: testParsers}, "Name", "parser", "Match", "*", "Key_name", "log", "Parser", "crio")
	out := one(t, f, rec(webTag, map[string]any{"log": criLine, "source": "tail"}))
	// Reserve_Data Off drops other fields; Preserve_Key Off drops the key
	// (the parser's own "log" is the message).
	wantFields(t, out.Fields, map[string]any{"stream": "stdout", "logtag": "F", "log": "GET /index.html 200"})
	if !out.Time.Equal(criTime) {
		t.Errorf("time = %v, want the line's %v", out.Time, criTime)
	}
	if out.Tag != webTag {
		t.Errorf("tag changed to %q", out.Tag)
	}
}

func TestParserReserveDataAndPreserveKey(t *testing.T) {
	deps := Deps{Parsers: testParsers}
	line := `level=info msg=started`
	reserve := mustNew(t, deps, "Name", "parser", "Key_Name", "message", "Parser", "logfmt", "Reserve_Data", "On")
	out := one(t, reserve, rec(webTag, map[string]any{"message": line, "stream": "stderr"}))
	wantFields(t, out.Fields, map[string]any{"level": "info", "msg": "started", "stream": "stderr"})

	both := mustNew(t, deps, "Name", "parser", "Key_Name", "message", "Parser", "logfmt", "Reserve_Data", "On", "Preserve_Key", "On")
	out = one(t, both, rec(webTag, map[string]any{"message": line, "stream": "stderr"}))
	wantFields(t, out.Fields, map[string]any{"level": "info", "msg": "started", "stream": "stderr", "message": line})

	keyOnly := mustNew(t, deps, "Name", "parser", "Key_Name", "message", "Parser", "logfmt", "Preserve_Key", "On")
	out = one(t, keyOnly, rec(webTag, map[string]any{"message": line, "stream": "stderr"}))
	wantFields(t, out.Fields, map[string]any{"level": "info", "msg": "started", "message": line})

	// A parser without a time leaves the record's time alone.
	if want := rec(webTag, nil).Time; !out.Time.Equal(want) {
		t.Errorf("time = %v, want unchanged %v", out.Time, want)
	}
}

func TestParserFirstMatchingParserWins(t *testing.T) {
	f := mustNew(t, Deps{Parsers: testParsers}, "Name", "parser", "Key_Name", "log", "Parser", "crio", "Parser", "logfmt")
	out := one(t, f, rec(webTag, map[string]any{"log": "a=1 b=2"}))
	wantFields(t, out.Fields, map[string]any{"a": "1", "b": "2"})
	out = one(t, f, rec(webTag, map[string]any{"log": criLine}))
	if out.Fields["stream"] != "stdout" {
		t.Errorf("CRI line not parsed by crio: %v", out.Fields)
	}
}

func TestParserLeavesUnparsableRecordsAlone(t *testing.T) {
	f := mustNew(t, Deps{Parsers: testParsers}, "Name", "parser", "Key_Name", "log", "Parser", "crio")
	for _, fields := range []map[string]any{
		{"log": "not a CRI line", "x": "y"},
		{"message": criLine},
		{"log": map[string]any{"nested": "map"}},
	} {
		out := one(t, f, rec(webTag, fields))
		wantFields(t, out.Fields, fields)
	}
}

func TestParserKeyNameAsRecordAccessor(t *testing.T) {
	f := mustNew(t, Deps{Parsers: testParsers}, "Name", "parser", "Key_Name", "$data['line']", "Parser", "logfmt", "Reserve_Data", "On")
	out := one(t, f, rec(webTag, map[string]any{"data": map[string]any{"line": "k=v"}, "other": "x"}))
	// The nested source stays: Fluent Bit never removes an accessor's key.
	wantFields(t, out.Fields, map[string]any{"k": "v", "other": "x", "data": map[string]any{"line": "k=v"}})
}

func TestParserRefusesUnknownParser(t *testing.T) {
	msg := newErr(t, Deps{Parsers: testParsers}, "Name", "parser", "Key_Name", "log", "Parser", "crio", "Parser", "docker")
	wantErrHas(t, msg, "parser", `"docker"`, "[PARSER]", "Name docker", "parsers.conf")
}
