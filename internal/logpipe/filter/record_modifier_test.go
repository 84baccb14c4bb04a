package filter

import (
	"regexp"
	"testing"
)

func TestRecordModifierAppendsRecords(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "record_modifier", "Match", "*",
		"Record", "cluster prod-eu",
		"Record", `greeting "hello world"`,
		"Record", "hostname ${HOSTNAME}",
		"Record", "log replaced")
	out := one(t, f, rec(webTag, map[string]any{"log": "GET /"}))
	wantFields(t, out.Fields, map[string]any{
		"cluster":  "prod-eu",
		"greeting": "hello world",
		"hostname": "${HOSTNAME}", // literal: nothing here expands variables
		"log":      "replaced",    // a Record replaces a field of the same name
	})
}

func TestRecordModifierRemoveKey(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "record_modifier", "Remove_key", "stream", "Remove_key", "kube_*")
	out := one(t, f, rec(webTag, map[string]any{"log": "x", "Stream": "stdout", "kube_pod": "web-1", "kube_ns": "default", "kubernetes": "keep"}))
	// Keys compare ignoring case; a trailing * matches a prefix.
	wantFields(t, out.Fields, map[string]any{"log": "x", "kubernetes": "keep"})
}

func TestRecordModifierAllowlistKeepsListedKeysAndRecords(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "record_modifier", "Allowlist_key", "log", "Whitelist_key", "time*", "Record", "env prod")
	out := one(t, f, rec(webTag, map[string]any{"log": "x", "stream": "stdout", "timestamp": "t", "logtag": "F"}))
	wantFields(t, out.Fields, map[string]any{"log": "x", "timestamp": "t", "env": "prod"})
}

func TestRecordModifierUUIDKey(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "record_modifier", "Uuid_key", "id")
	a := one(t, f, rec(webTag, map[string]any{"log": "x"})).Fields["id"].(string)
	b := one(t, f, rec(webTag, map[string]any{"log": "x"})).Fields["id"].(string)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(a) || a == b {
		t.Errorf("uuids %q, %q: want two different v4 UUIDs", a, b)
	}
}

func TestRecordModifierRefusesBadConfig(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "record_modifier", "Record", "msg hello world"), "record_modifier", "KEY VALUE", "quot")
	wantErrHas(t, newErr(t, Deps{}, "Name", "record_modifier", "Record", "lonely"), "record_modifier", "KEY VALUE")
	wantErrHas(t, newErr(t, Deps{}, "Name", "record_modifier", "Remove_key", "a", "Allowlist_key", "b"), "record_modifier", "Remove_key", "Allowlist_key")
}
