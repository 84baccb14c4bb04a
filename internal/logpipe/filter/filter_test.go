package filter

import "testing"

func TestNewDispatchesOnNameIgnoringCase(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "GREP", "Match", "*", "Regex", "log ERROR")
	if _, ok := f.(*grep); !ok {
		t.Fatalf("Name GREP built %T, want a grep filter", f)
	}
}

func TestNewRefusesUnknownOrMissingName(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "lua", "Match", "*"), "lua", "grep", "kubernetes")
	wantErrHas(t, newErr(t, Deps{}, "Match", "*"), "Name")
}

func TestConstructorsNameFilterAndMissingKey(t *testing.T) {
	for _, tc := range []struct {
		kv    []string
		parts []string
	}{
		{[]string{"Name", "grep"}, []string{"grep", "Regex"}},
		{[]string{"Name", "parser", "Parser", "crio"}, []string{"parser", "Key_Name"}},
		{[]string{"Name", "parser", "Key_Name", "log"}, []string{"parser", "Parser"}},
		{[]string{"Name", "record_modifier"}, []string{"record_modifier", "Record"}},
		{[]string{"Name", "rewrite_tag"}, []string{"rewrite_tag", "Rule"}},
		{[]string{"Name", "nest", "Wildcard", "a*", "Nest_under", "x"}, []string{"nest", "Operation"}},
		{[]string{"Name", "nest", "Operation", "nest", "Nest_under", "x"}, []string{"nest", "Wildcard"}},
		{[]string{"Name", "nest", "Operation", "nest", "Wildcard", "a*"}, []string{"nest", "Nest_under"}},
		{[]string{"Name", "nest", "Operation", "lift"}, []string{"nest", "Nested_under"}},
		{[]string{"Name", "modify", "Condition", "Key_exists log"}, []string{"modify", "rule"}},
	} {
		msg := newErr(t, Deps{Parsers: testParsers}, tc.kv...)
		wantErrHas(t, msg, tc.parts...)
	}
}
