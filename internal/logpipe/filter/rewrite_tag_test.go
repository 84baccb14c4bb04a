package filter

import (
	"testing"
)

func kubeRecord(log, namespace, app string) map[string]any {
	return map[string]any{
		"log": log,
		"kubernetes": map[string]any{
			"namespace_name": namespace,
			"labels":         map[string]any{"app": app},
		},
	}
}

func TestRewriteTagEmitsUnderNewTag(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "rewrite_tag", "Match", "kube.*",
		"Rule", `$log ^(ERROR|FATAL)\s errors.$1.$TAG[4] false`,
		"Emitter_Name", "re_emitted", "Emitter_Mem_Buf_Limit", "10M")
	out := one(t, f, rec(webTag, kubeRecord("ERROR db down", "default", "web")))
	if want := "errors.ERROR.web-1_default_nginx-0c2f4e1a-9b3-nginx-0"; out.Tag != want {
		t.Errorf("tag = %q, want %q", out.Tag, want)
	}
	if out.Fields["log"] != "ERROR db down" {
		t.Errorf("emitted record lost its fields: %v", out.Fields)
	}
	// Not matching: the record stays as it is.
	kept := one(t, f, rec(webTag, kubeRecord("INFO fine", "default", "web")))
	if kept.Tag != webTag {
		t.Errorf("unmatched record retagged to %q", kept.Tag)
	}
}

func TestRewriteTagKeepTrueKeepsAnIndependentOriginal(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "rewrite_tag",
		"Rule", `$kubernetes['namespace_name'] ^(prod|default)$ ns.$kubernetes['namespace_name'].$kubernetes['labels']['app'].$TAG true`)
	out := f.Filter(rec(webTag, kubeRecord("x", "default", "web")))
	if len(out) != 2 {
		t.Fatalf("got %d records, want the original and the copy", len(out))
	}
	if out[0].Tag != webTag {
		t.Errorf("original tag = %q", out[0].Tag)
	}
	if want := "ns.default.web." + webTag; out[1].Tag != want {
		t.Errorf("new tag = %q, want %q", out[1].Tag, want)
	}
	out[1].Fields["kubernetes"].(map[string]any)["namespace_name"] = "changed"
	if out[0].Fields["kubernetes"].(map[string]any)["namespace_name"] != "default" {
		t.Error("changing the emitted copy changed the original")
	}
}

func TestRewriteTagFirstMatchingRuleWins(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "rewrite_tag",
		"Rule", "$log ^ERROR errors false",
		"Rule", "$log db audit false",
		"Rule", "$missing .* never false")
	if got := one(t, f, rec(webTag, kubeRecord("ERROR db", "d", "a"))).Tag; got != "errors" {
		t.Errorf("tag = %q, want errors (first rule)", got)
	}
	if got := one(t, f, rec(webTag, kubeRecord("INFO db", "d", "a"))).Tag; got != "audit" {
		t.Errorf("tag = %q, want audit (second rule)", got)
	}
}

func TestRewriteTagRefusesBadRules(t *testing.T) {
	wantErrHas(t, newErr(t, Deps{}, "Name", "rewrite_tag", "Rule", "$log ^ERROR errors"), "rewrite_tag", "$KEY REGEX NEW_TAG KEEP")
	wantErrHas(t, newErr(t, Deps{}, "Name", "rewrite_tag", "Rule", "$log ^a b$ t false"), "rewrite_tag", "quote")
	wantErrHas(t, newErr(t, Deps{}, "Name", "rewrite_tag", "Rule", "$log ^a t maybe"), "rewrite_tag", "KEEP")
	wantErrHas(t, newErr(t, Deps{}, "Name", "rewrite_tag", "Rule", "$log (?=a) t false"), "rewrite_tag", "lookahead")
	wantErrHas(t, newErr(t, Deps{}, "Name", "rewrite_tag", "Rule", "$log a t.$TAG[x] false"), "rewrite_tag", "$TAG[n]")
}

func TestRewriteTagQuotedRegexWithSpaces(t *testing.T) {
	f := mustNew(t, Deps{}, "Name", "rewrite_tag", "Rule", `$log "^GET /health (\d+)$" health.$1 false`)
	if got := one(t, f, rec(webTag, kubeRecord("GET /health 200", "d", "a"))).Tag; got != "health.200" {
		t.Errorf("tag = %q, want health.200", got)
	}
}
