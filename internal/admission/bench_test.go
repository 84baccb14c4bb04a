package admission

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
)

// benchSources is a full cluster: the maximum of ten profiles, one with a
// wildcard namespace, so the lookup does its whole work.
func benchSources() *fakeSources {
	var profiles []v1.FargateProfile
	for i := range 9 {
		ns := fmt.Sprintf("team-%d", i)
		profiles = append(profiles, activeProfile("fp-"+ns, selector(ns, map[string]string{"app": "web"})))
	}
	profiles = append(profiles, activeProfile("fp-jobs", selector("jobs-*", nil)))
	return newFakeSources(profiles...)
}

// BenchmarkMutatePod measures one review through the HTTP handler, body
// reading and response writing included (TLS excluded).
func BenchmarkMutatePod(b *testing.B) {
	cases := []struct {
		name      string
		namespace string
		labels    map[string]string
		patched   bool
	}{
		{"matching", "team-3", map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b4"}, true},
		{"non-matching", "default", map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b4"}, false},
	}
	h := NewHandler(benchSources(), Options{})
	for _, c := range cases {
		body := reviewBody(b, podCreate(c.namespace, newPod("", c.labels, nil)))
		b.Run(c.name, func(b *testing.B) {
			if rec := post(h, MutatePodsPath, body); rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) != c.patched {
				b.Fatalf("unexpected answer: %d %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, MutatePodsPath, bytes.NewReader(body)))
			}
		})
	}
}
