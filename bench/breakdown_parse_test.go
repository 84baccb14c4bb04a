package bench

import (
	"testing"
	"time"
)

// TestSplitTraces: a stack goes to fargo's deepest package when fargo's
// code is in it, else to the upstream part it runs in; the apiserver's calls into the
// etcd client are the apiserver's.
func TestSplitTraces(t *testing.T) {
	text := `File: fargo
Type: cpu
Duration: 20s, Total samples = 1s (5%)
-----------+-------------------------------------------------------
      10ms   syscall.Syscall6
             github.com/fargo-dev/fargo/internal/sandbox/oci.(*Runtime).StartContainer
             github.com/fargo-dev/fargo/internal/podrunner.(*podWorker).run
             runtime.goexit
-----------+-------------------------------------------------------
      1.20s   go.etcd.io/etcd/client/v3.(*kv).Put
             k8s.io/apiserver/pkg/storage/etcd3.(*store).Create
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      30ms   runtime.scanobject
             runtime.gcBgMarkWorker
-----------+-------------------------------------------------------
      20ms   runtime.futex (inline)
             runtime.mcall
`
	got := splitTraces(text)
	want := map[string]time.Duration{
		"fargo sandbox/oci":                 10 * time.Millisecond,
		"apiserver":                         1200 * time.Millisecond,
		"Go GC (background)":                30 * time.Millisecond,
		"other (runtime, syscalls, stdlib)": 20 * time.Millisecond,
	}
	if len(got) != len(want) {
		t.Errorf("split %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v (split %v)", k, got[k], v, got)
		}
	}
}

// TestParseMetrics reads labelled and bare samples and skips comments.
func TestParseMetrics(t *testing.T) {
	raw := []byte(`# HELP apiserver_request_total x
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",resource="pods",subresource="",verb="POST"} 12
apiserver_request_total{code="200",resource="pods",subresource="status",verb="PATCH"} 3e+01
process_start_time_seconds 1.7e+09
`)
	ms := parseMetrics(raw)
	if len(ms) != 3 {
		t.Fatalf("%d samples: %+v", len(ms), ms)
	}
	if ms[0].name != "apiserver_request_total" || ms[0].labels["verb"] != "POST" || ms[0].labels["resource"] != "pods" || ms[0].value != 12 {
		t.Errorf("first sample %+v", ms[0])
	}
	if ms[1].labels["subresource"] != "status" || ms[1].value != 30 {
		t.Errorf("second sample %+v", ms[1])
	}
	if ms[2].name != "process_start_time_seconds" || ms[2].value != 1.7e9 {
		t.Errorf("third sample %+v", ms[2])
	}
}
