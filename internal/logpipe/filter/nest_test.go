package filter

import "testing"

func TestNestMovesMatchingKeysUnderAMap(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "nest", "Match", "*",
		"Operation", "nest", "Wildcard", "Mem.*", "Wildcard", "host", "Nest_under", "memory", "Remove_prefix", "Mem.")
	out := one(t, f, rec(webTag, map[string]any{"Mem.total": 1016044.0, "Mem.used": 841388.0, "host": "h", "Swap.used": 0.0}))
	wantFields(t, out.Fields, map[string]any{
		"memory":    map[string]any{"total": 1016044.0, "used": 841388.0, "host": "h"},
		"Swap.used": 0.0,
	})
	// Nothing matches: the record is left alone, no empty map added.
	out = one(t, f, rec(webTag, map[string]any{"log": "x"}))
	wantFields(t, out.Fields, map[string]any{"log": "x"})
}

func TestNestLiftsAMapToTheTopLevel(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "nest", "Operation", "lift", "Nested_under", "kubernetes", "Add_prefix", "k8s_")
	out := one(t, f, rec(webTag, map[string]any{"log": "x", "kubernetes": map[string]any{"pod_name": "web-1", "namespace_name": "default"}}))
	wantFields(t, out.Fields, map[string]any{"log": "x", "k8s_pod_name": "web-1", "k8s_namespace_name": "default"})
	// A value that is not a map stays where it is.
	out = one(t, f, rec(webTag, map[string]any{"kubernetes": "flat"}))
	wantFields(t, out.Fields, map[string]any{"kubernetes": "flat"})
}

func TestNestRefusesBadConfig(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "nest", "Operation", "flatten", "Wildcard", "a"), "nest", "Operation", "lift")
	wantErrHas(t, newErr(t, Deps{}, "Name", "nest", "Operation", "lift", "Nested_under", "k", "Add_prefix", "a", "Remove_prefix", "b"), "nest", "Add_prefix", "Remove_prefix")
	wantErrHas(t, newErr(t, Deps{}, "Name", "nest", "Operation", "lift", "Nested_under", "k", "Nest_Undr", "x"), "nest", "Nest_Undr")
}
