package filter

import "testing"

func TestModifyRulesApplyInOrder(t *testing.T) {
	// Copy then Set: the copy holds the old value.
	f := mustNew(t, Deps{}, "Name", "modify", "Match", "*", "Copy", "log original", "Set", "log redacted")
	wantFields(t, one(t, f, rec(webTag, map[string]any{"log": "password=x"})).Fields,
		map[string]any{"log": "redacted", "original": "password=x"})
	// Set then Copy: the copy holds the new one.
	f = mustNew(t, Deps{}, "Name", "modify", "Set", "log redacted", "Copy", "log original")
	wantFields(t, one(t, f, rec(webTag, map[string]any{"log": "password=x"})).Fields,
		map[string]any{"log": "redacted", "original": "redacted"})
}

func TestModifyRules(t *testing.T) {
	in := func() map[string]any {
		return map[string]any{"log": "x", "level": "info", "Mem.used": 1.0, "Mem.free": 2.0, "tmp_a": "a", "tmp_b": "b"}
	}
	for _, tc := range []struct {
		rule, arg string
		want      map[string]any
	}{
		{"Set", `message "hello world"`, map[string]any{"message": "hello world"}},
		{"Set", "level warn", map[string]any{"level": "warn"}},
		{"Add", "level warn", map[string]any{}},
		{"Add", "env prod", map[string]any{"env": "prod"}},
		{"Remove", "log", map[string]any{"log": nil}},
		{"Remove_wildcard", "Mem", map[string]any{"Mem.used": nil, "Mem.free": nil}},
		{"Remove_wildcard", "Mem.*", map[string]any{"Mem.used": nil, "Mem.free": nil}},
		{"Remove_regex", "^tmp_[ab]$", map[string]any{"tmp_a": nil, "tmp_b": nil}},
		{"Rename", "log message", map[string]any{"log": nil, "message": "x"}},
		{"Rename", "log level", map[string]any{}}, // target exists: no change
		{"Hard_rename", "log level", map[string]any{"log": nil, "level": "x"}},
		{"Copy", "log message", map[string]any{"message": "x"}},
		{"Copy", "log level", map[string]any{}},
		{"Hard_copy", "log level", map[string]any{"level": "x"}},
		{"Rename", "absent other", map[string]any{}},
		{"Move_to_start", "level", map[string]any{}}, // a Go map has no order
	} {
		f := mustNew(t, Deps{}, "Name", "modify", tc.rule, tc.arg)
		want := in()
		for k, v := range tc.want {
			if v == nil {
				delete(want, k)
			} else {
				want[k] = v
			}
		}
		got := one(t, f, rec(webTag, in())).Fields
		t.Run(tc.rule+" "+tc.arg, func(t *testing.T) { wantFields(t, got, want) })
	}
}

func TestModifyConditionsMustAllHold(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "modify",
		"Condition", "Key_value_equals $kubernetes['namespace_name'] default",
		"Condition", "Key_exists log",
		"Condition", "Key_value_does_not_match stream ^stderr$",
		"Set", "team web")
	base := func() map[string]any {
		return map[string]any{"log": "x", "stream": "stdout", "kubernetes": map[string]any{"namespace_name": "default"}}
	}
	if got := one(t, f, rec(webTag, base())).Fields["team"]; got != "web" {
		t.Errorf("all conditions hold but team = %v", got)
	}
	for _, change := range []func(map[string]any){
		func(m map[string]any) { m["kubernetes"] = map[string]any{"namespace_name": "prod"} },
		func(m map[string]any) { delete(m, "log") },
		func(m map[string]any) { m["stream"] = "stderr" },
		func(m map[string]any) { delete(m, "stream") }, // does_not_match needs the key
	} {
		fields := base()
		change(fields)
		if got, ok := one(t, f, rec(webTag, fields)).Fields["team"]; ok {
			t.Errorf("record %v got team %v although a condition fails", fields, got)
		}
	}
}

func TestModifyConditionKinds(t *testing.T) {
	fields := map[string]any{"log": "x", "code": "200", "ok": true, "n": 3.0, "mem_used": "1", "mem_free": "2"}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"Key_exists log", true},
		{"Key_does_not_exist log", false},
		{"A_key_matches ^mem_", true},
		{"No_key_matches ^cpu_", true},
		{"Key_value_equals code 200", true},
		{"Key_value_equals n 3", false}, // only strings compare
		{"Key_value_does_not_equal code 500", true},
		{"Key_value_does_not_equal absent 500", false},
		{"Key_value_matches ok ^true$", true}, // booleans match as text
		{"Key_value_matches code ^2..$", true},
		{`Matching_keys_have_matching_values ^mem_ ^\d+$`, true},
		{`Matching_keys_do_not_have_matching_values ^mem_ ^\d+$`, false},
		{`Matching_keys_have_matching_values ^cpu_ ^x$`, true}, // no key: vacuously true
	} {
		f := mustNew(t, Deps{}, "Name", "modify", "Condition", tc.cond, "Set", "hit yes")
		_, got := one(t, f, rec(webTag, copyFields(fields))).Fields["hit"]
		if got != tc.want {
			t.Errorf("Condition %s = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

func copyFields(m map[string]any) map[string]any {
	return deepCopy(m).(map[string]any)
}

func TestModifyRefusesBadConfig(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "modify", "Renam", "a b"), "modify", "unknown rule Renam")
	wantErrHas(t, newErr(t, Deps{}, "Name", "modify", "Set", "message hello world"), "modify", "quot")
	wantErrHas(t, newErr(t, Deps{}, "Name", "modify", "Remove", "a b"), "modify", "one KEY")
	wantErrHas(t, newErr(t, Deps{}, "Name", "modify", "Condition", "Key_is_nice a", "Set", "a b"), "modify", "unknown condition")
	wantErrHas(t, newErr(t, Deps{}, "Name", "modify", "Condition", "Key_value_equals a", "Set", "a b"), "modify", "two parameters")
	wantErrHas(t, newErr(t, Deps{}, "Name", "modify", "Remove_regex", `(a)\1`), "modify", "backreference")
}
