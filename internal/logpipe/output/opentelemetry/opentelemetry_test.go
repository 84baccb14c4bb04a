package opentelemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

func params(t *testing.T, base string, extra ...string) logpipe.Params {
	t.Helper()
	u, _ := url.Parse(base)
	p := logpipe.Params{{Key: "Name", Value: "opentelemetry"}, {Key: "Host", Value: u.Hostname()}, {Key: "Port", Value: u.Port()}}
	for i := 0; i+1 < len(extra); i += 2 {
		p = append(p, logpipe.Param{Key: extra[i], Value: extra[i+1]})
	}
	return p
}

// receiver decodes OTLP JSON export requests into generic maps, as a
// collector reading the documented JSON mapping would.
type receiver struct {
	requests chan map[string]any
	reply    string
}

func (rv *receiver) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Key") != "k" {
			t.Errorf("request %s %s (%s, X-Key %q): want POST /v1/logs, application/json, X-Key k", r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("X-Key"))
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		rv.requests <- m
		io.WriteString(w, rv.reply)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// path walks decoded JSON: keys for objects, ints for arrays.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[s]
		case int:
			a, _ := v.([]any)
			if s >= len(a) {
				return nil
			}
			v = a[s]
		}
	}
	return v
}

// attrs turns an OTLP attribute list into key → value JSON.
func attrs(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, kv := range list {
		b, _ := json.Marshal(path(kv, "value"))
		out[path(kv, "key").(string)] = string(b)
	}
	return out
}

func TestExportsRecordsUnderKubernetesResources(t *testing.T) {
	rv := &receiver{requests: make(chan map[string]any, 1), reply: `{}`}
	srv := rv.start(t)
	o, err := New(params(t, srv.URL, "Header", "X-Key k"), logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	k8s := func(pod string) map[string]any {
		return map[string]any{"namespace_name": "shop", "pod_name": pod, "container_name": "app"}
	}
	at := time.Unix(1700000000, 42)
	err = o.Send(context.Background(), []logpipe.Record{
		{Tag: "a", Time: at, Fields: map[string]any{"log": "one", "n": 3.0, "ok": true, "kubernetes": k8s("web-1")}},
		{Tag: "a", Time: at, Fields: map[string]any{"log": "two", "kubernetes": k8s("web-2")}},
		{Tag: "a", Time: at, Fields: map[string]any{"log": "three", "kubernetes": k8s("web-1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := <-rv.requests
	res := path(req, "resourceLogs").([]any)
	if len(res) != 2 {
		t.Fatalf("resourceLogs = %v, want two (pods web-1, web-2)", res)
	}
	want := map[string]string{"k8s.namespace.name": `{"stringValue":"shop"}`, "k8s.pod.name": `{"stringValue":"web-1"}`, "k8s.container.name": `{"stringValue":"app"}`}
	if got := attrs(path(res[0], "resource", "attributes")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resource attributes = %v, want %v", got, want)
	}
	records := path(res[0], "scopeLogs", 0, "logRecords").([]any)
	if len(records) != 2 || path(records[0], "timeUnixNano") != "1700000000000000042" {
		t.Fatalf("web-1 records = %v, want two with timeUnixNano 1700000000000000042", records)
	}
	body := attrs(path(records[0], "body", "kvlistValue", "values"))
	if body["log"] != `{"stringValue":"one"}` || body["n"] != `{"intValue":"3"}` || body["ok"] != `{"boolValue":true}` {
		t.Errorf("body = %v, want the whole record as a kvlist (log one, n 3, ok true)", body)
	}
}

func TestLogsBodyKey(t *testing.T) {
	rv := &receiver{requests: make(chan map[string]any, 1), reply: `{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"too old"}}`}
	srv := rv.start(t)
	var logs []string
	o, err := New(params(t, srv.URL, "Header", "X-Key k", "logs_body_key", "$message", "logs_body_key", "$log", "logs_body_key_attributes", "On"),
		logpipe.Env{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Send(context.Background(), []logpipe.Record{{Time: time.Unix(1, 0), Fields: map[string]any{"log": "hello", "stream": "stdout"}}}); err != nil {
		t.Fatal(err)
	}
	rec := path(<-rv.requests, "resourceLogs", 0, "scopeLogs", 0, "logRecords", 0)
	if got := path(rec, "body", "stringValue"); got != "hello" {
		t.Errorf("body = %v, want the log field's value", path(rec, "body"))
	}
	if got := attrs(path(rec, "attributes")); len(got) != 1 || got["stream"] != `{"stringValue":"stdout"}` {
		t.Errorf("attributes = %v, want only stream", got)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "rejected 1 log records: too old") {
		t.Errorf("logs = %q, want the partial success reported", logs)
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{400, true}, {429, false}, {503, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.status) }))
		o, err := New(params(t, srv.URL), logpipe.Env{})
		if err != nil {
			t.Fatal(err)
		}
		err = o.Send(context.Background(), []logpipe.Record{{Time: time.Unix(1, 0), Fields: map[string]any{"log": "x"}}})
		srv.Close()
		if err == nil || logpipe.IsPermanent(err) != tc.permanent {
			t.Errorf("status %d: Send = %v, want permanent=%v", tc.status, err, tc.permanent)
		}
	}
}

func TestDefaults(t *testing.T) {
	o, err := New(logpipe.Params{{Key: "Name", Value: "opentelemetry"}}, logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if o.conn.URL != "http://127.0.0.1:80/v1/logs" {
		t.Errorf("url = %s, want Fluent Bit's defaults http://127.0.0.1:80/v1/logs", o.conn.URL)
	}
	if _, err := New(logpipe.Params{{Key: "Logs_uri", Value: "v1/logs"}}, logpipe.Env{}); err == nil || !strings.Contains(err.Error(), "Logs_uri") {
		t.Errorf("Logs_uri without /: New = %v, want an error naming Logs_uri", err)
	}
}
