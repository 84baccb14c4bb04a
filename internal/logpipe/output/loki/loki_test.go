package loki

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout/vltest"
)

func params(t *testing.T, base string, extra ...string) logpipe.Params {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := logpipe.Params{{Key: "Name", Value: "loki"}, {Key: "Host", Value: u.Hostname()}, {Key: "Port", Value: u.Port()}}
	for i := 0; i+1 < len(extra); i += 2 {
		p = append(p, logpipe.Param{Key: extra[i], Value: extra[i+1]})
	}
	return p
}

func newOutput(t *testing.T, p logpipe.Params) *Output {
	t.Helper()
	o, err := New(p, logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestPushToVictoriaLogs(t *testing.T) {
	vl := vltest.Start(t)
	o := newOutput(t, params(t, vl.URL,
		"Uri", "/insert/loki/api/v1/push",
		"labels", "job=fargo-test, $kubernetes['namespace_name']",
		"label_keys", "$run",
		"tenant_id", "7"))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	at := time.Now().UTC()
	var batch []logpipe.Record
	for i := range 3 {
		batch = append(batch, logpipe.Record{Tag: "kube.web", Time: at.Add(time.Duration(i) * time.Microsecond), Fields: map[string]any{
			"run": run, "log": fmt.Sprintf("line %d", i),
			"kubernetes": map[string]any{"namespace_name": "shop", "pod_name": "web-1"},
		}})
	}
	if err := o.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	tenant := http.Header{"Accountid": {"7"}}
	rows := vl.WaitRows(t, `_stream:{run="`+run+`"}`, tenant, 3)
	seen := map[string]bool{}
	for _, r := range rows {
		if r["job"] != "fargo-test" || r["kubernetes_namespace_name"] != "shop" || r["kubernetes.pod_name"] != "web-1" {
			t.Errorf("stored %v; want labels job=fargo-test, kubernetes_namespace_name=shop and the line's kubernetes.pod_name", r)
		}
		if _, ok := r["kubernetes.namespace_name"]; ok {
			t.Errorf("stored %v: kubernetes.namespace_name is a label and should have left the line", r)
		}
		seen[r["log"]+"@"+r["_time"]] = true
	}
	for i := range 3 {
		key := fmt.Sprintf("line %d@%s", i, at.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano))
		if !seen[key] {
			t.Errorf("missing %s in %v", key, seen)
		}
	}
	if rows := vl.Query(t, `_stream:{run="`+run+`"}`, nil); len(rows) != 0 {
		t.Errorf("tenant 0 has %d rows; they belong to tenant 7 only", len(rows))
	}
}

// capture is a push endpoint that keeps the last request.
type capture struct {
	status int
	body   pushBody
	header http.Header
}

type pushBody struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	} `json:"streams"`
}

func (c *capture) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.header = r.Header
		if err := json.Unmarshal(b, &c.body); err != nil {
			t.Errorf("push body %s: %v", b, err)
		}
		w.WriteHeader(c.status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLines(t *testing.T) {
	rec := logpipe.Record{Tag: "t", Time: time.Unix(1700000000, 123), Fields: map[string]any{
		"log": "hello", "stream": "stdout", "n": 2.0, "tags": []any{"a", 1.5}, "secret": "x",
	}}
	for _, tc := range []struct {
		name  string
		extra []string
		line  string
	}{
		{"json", []string{"remove_keys", "secret"}, `{"log":"hello","n":2,"stream":"stdout","tags":["a",1.5]}`},
		{"key_value", []string{"line_format", "key_value", "remove_keys", "secret,tags"}, `log="hello" n=2 stream="stdout"`},
		{"drop single json", []string{"drop_single_key", "On", "remove_keys", "secret,tags,n,stream"}, `"hello"`},
		{"drop single raw", []string{"drop_single_key", "raw", "remove_keys", "secret,tags,n,$stream"}, `hello`},
		{"label leaves line", []string{"drop_single_key", "raw", "labels", "$stream", "remove_keys", "secret,tags,n"}, `hello`},
	} {
		c := &capture{status: 204}
		o := newOutput(t, params(t, c.server(t).URL, tc.extra...))
		if err := o.Send(context.Background(), []logpipe.Record{rec}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		v := c.body.Streams[0].Values[0]
		if v[0] != "1700000000000000123" || v[1] != tc.line {
			t.Errorf("%s: entry %q, want [1700000000000000123 %q]", tc.name, v, tc.line)
		}
	}
}

func TestLabelsAndStreams(t *testing.T) {
	dir := t.TempDir()
	labelMap := filepath.Join(dir, "map.json")
	os.WriteFile(labelMap, []byte(`{"kubernetes":{"container_name":"container"}}`), 0o644)
	c := &capture{status: 204}
	o := newOutput(t, params(t, c.server(t).URL,
		"labels", "ns=$kubernetes['namespace_name']", "auto_kubernetes_labels", "On",
		"label_map_path", labelMap, "tenant_id_key", "$tenant"))
	k8s := func(app string) map[string]any {
		return map[string]any{"namespace_name": "shop", "container_name": "web", "labels": map[string]any{"app.kubernetes.io/name": app}}
	}
	batch := []logpipe.Record{
		{Time: time.Unix(1, 0), Fields: map[string]any{"log": "a", "tenant": "t1", "kubernetes": k8s("web")}},
		{Time: time.Unix(2, 0), Fields: map[string]any{"log": "b", "tenant": "t1", "kubernetes": k8s("api")}},
		{Time: time.Unix(3, 0), Fields: map[string]any{"log": "c", "tenant": "t1", "kubernetes": k8s("web")}},
	}
	if err := o.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if got := c.header.Get("X-Scope-OrgID"); got != "t1" {
		t.Errorf("X-Scope-OrgID = %q, want t1 from tenant_id_key", got)
	}
	if len(c.body.Streams) != 2 {
		t.Fatalf("streams = %+v, want two (app web, app api)", c.body.Streams)
	}
	want := map[string]string{"ns": "shop", "container": "web", "app_kubernetes_io_name": "web"}
	if s := c.body.Streams[0]; !reflect.DeepEqual(s.Stream, want) || len(s.Values) != 2 {
		t.Errorf("first stream = %+v, want labels %v and entries a, c", s, want)
	}
	if s := c.body.Streams[0]; len(s.Values) == 2 && strings.Contains(s.Values[0][1].(string), "namespace_name") {
		t.Errorf("line %q still has the label's key", s.Values[0][1])
	}
}

func TestDefaultLabelAndStatus(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{204, false}, {400, true}, {429, false}, {500, false}} {
		c := &capture{status: tc.status}
		o := newOutput(t, params(t, c.server(t).URL))
		err := o.Send(context.Background(), []logpipe.Record{{Time: time.Unix(1, 0), Fields: map[string]any{"log": "x"}}})
		if tc.status == 204 {
			if err != nil || c.body.Streams[0].Stream["job"] != "fluent-bit" {
				t.Errorf("status 204: err %v, stream %v; want nil and job=fluent-bit", err, c.body.Streams)
			}
			continue
		}
		if err == nil || logpipe.IsPermanent(err) != tc.permanent {
			t.Errorf("status %d: Send = %v, want permanent=%v", tc.status, err, tc.permanent)
		}
	}
}

func TestNewRefusesBadParams(t *testing.T) {
	for _, tc := range []struct{ key, value, mention string }{
		{"labels", "job", "name=value"},
		{"label_keys", "stream", "must start with $"},
		{"line_format", "logfmt", "json or key_value"},
		{"drop_single_key", "maybe", "raw"},
		{"Uri", "loki/api/v1/push", "start with /"},
	} {
		_, err := New(logpipe.Params{{Key: "Name", Value: "loki"}, {Key: tc.key, Value: tc.value}}, logpipe.Env{})
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s %s: New = %v, want an error mentioning %q", tc.key, tc.value, err, tc.mention)
		}
	}
}
