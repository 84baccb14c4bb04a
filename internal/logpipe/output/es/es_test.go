package es

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/httpout/vltest"
)

// params builds a section for a receiver at base (http://host:port).
func params(t *testing.T, base string, extra ...string) logpipe.Params {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := logpipe.Params{{Key: "Name", Value: "es"}, {Key: "Host", Value: u.Hostname()}, {Key: "Port", Value: u.Port()}}
	for i := 0; i+1 < len(extra); i += 2 {
		p = append(p, logpipe.Param{Key: extra[i], Value: extra[i+1]})
	}
	return p
}

func newOutput(t *testing.T, p logpipe.Params, env logpipe.Env) *Output {
	t.Helper()
	o, err := New(p, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestSendToVictoriaLogsBulk(t *testing.T) {
	vl := vltest.Start(t)
	o := newOutput(t, params(t, vl.URL,
		"Path", "/insert/elasticsearch",
		"Logstash_Format", "On", "Logstash_Prefix", "app",
		"Include_Tag_Key", "On", "Tag_Key", "tag",
		"Generate_ID", "On"), logpipe.Env{})
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	at := time.Now().UTC().Truncate(time.Millisecond)
	var batch []logpipe.Record
	for i := range 3 {
		batch = append(batch, logpipe.Record{Tag: "kube.web", Time: at.Add(time.Duration(i) * time.Millisecond), Fields: map[string]any{
			"run": run, "n": float64(i), "log": fmt.Sprintf("line %d", i),
			"kubernetes": map[string]any{"pod_name": "web-1"},
		}})
	}
	if err := o.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	rows := vl.WaitRows(t, "run:"+run, nil, 3)
	seen := map[string]bool{}
	for _, r := range rows {
		n, _ := strconv.Atoi(r["n"])
		want := at.Add(time.Duration(n) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		if r["@timestamp"] != want || r["tag"] != "kube.web" || r["kubernetes.pod_name"] != "web-1" || r["log"] != fmt.Sprintf("line %d", n) {
			t.Errorf("stored %v; want @timestamp %s, tag kube.web, kubernetes.pod_name web-1, log line %d", r, want, n)
		}
		seen[r["n"]] = true
	}
	if len(seen) != 3 {
		t.Errorf("records stored: %v, want n 0, 1 and 2 once each", seen)
	}
}

// fakeES answers _bulk requests with item statuses from replies, one
// slice per request, and keeps each request's documents.
type fakeES struct {
	mu      sync.Mutex
	replies [][]int
	docs    [][]map[string]any
	paths   []string
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	var docs []map[string]any
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	for i := 1; i < len(lines); i += 2 {
		var d map[string]any
		json.Unmarshal([]byte(lines[i]), &d)
		docs = append(docs, d)
	}
	f.docs = append(f.docs, docs)
	statuses := f.replies[0]
	f.replies = f.replies[1:]
	var items []string
	errs := false
	for _, s := range statuses {
		items = append(items, fmt.Sprintf(`{"create":{"_index":"i","status":%d,"error":{"type":"t%d","reason":"r%d"}}}`, s, s, s))
		errs = errs || s >= 300
	}
	fmt.Fprintf(w, `{"took":1,"errors":%v,"items":[%s]}`, errs, strings.Join(items, ","))
}

func TestRetriesOnlyThrottledItems(t *testing.T) {
	fake := &fakeES{replies: [][]int{{201, 429, 400}, {201}}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var logs []string
	o := newOutput(t, params(t, srv.URL), logpipe.Env{Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
	o.backoff = time.Millisecond
	batch := []logpipe.Record{
		{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "ok"}},
		{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "throttled"}},
		{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "bad"}},
	}
	if err := o.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if len(fake.docs) != 2 || len(fake.docs[1]) != 1 || fake.docs[1][0]["log"] != "throttled" {
		t.Fatalf("requests' documents = %v, want the second request to carry only the throttled record", fake.docs)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "status 400") || !strings.Contains(logs[0], "t400: r400") {
		t.Errorf("logs = %q, want one line about the refused record", logs)
	}
	if fake.paths[0] != "POST /_bulk" || len(fake.paths) != 2 {
		t.Errorf("requests = %v, want two POST /_bulk", fake.paths)
	}
}

func TestStillThrottledIsRetryable(t *testing.T) {
	fake := &fakeES{replies: [][]int{{503}, {503}}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := newOutput(t, params(t, srv.URL), logpipe.Env{})
	o.backoff, o.itemRetries = time.Millisecond, 1
	err := o.Send(context.Background(), []logpipe.Record{{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "x"}}})
	if err == nil || logpipe.IsPermanent(err) {
		t.Fatalf("Send = %v, want a retryable error", err)
	}
}

func TestRequestStatus(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		permanent bool
		mention   string
	}{
		{400, `{"error":{"type":"illegal_argument_exception","reason":"Action/metadata line [1] contains an unknown parameter [_type]"},"status":400}`, true, "Suppress_Type_Name On"},
		{503, `{"error":"unavailable","status":503}`, false, "503"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		o := newOutput(t, params(t, srv.URL), logpipe.Env{})
		err := o.Send(context.Background(), []logpipe.Record{{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "x"}}})
		srv.Close()
		if err == nil || logpipe.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("status %d: Send = %v; want permanent=%v mentioning %q", tc.status, err, tc.permanent, tc.mention)
		}
	}
}

func TestDocuments(t *testing.T) {
	s, err := readSettings(logpipe.Params{
		{Key: "Logstash_Format", Value: "On"}, {Key: "Logstash_Prefix_Key", Value: "$kubernetes['namespace_name']"},
		{Key: "Logstash_DateFormat", Value: "%Y-%m"}, {Key: "Replace_Dots", Value: "On"},
		{Key: "Time_Key_Nanos", Value: "On"}, {Key: "Suppress_Type_Name", Value: "On"}, {Key: "Id_Key", Value: "uid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := logpipe.Record{Tag: "t", Time: time.Date(2024, 3, 5, 6, 7, 8, 9, time.UTC), Fields: map[string]any{
		"uid": "abc", "a.b": map[string]any{"c.d": 1.0}, "kubernetes": map[string]any{"namespace_name": "shop"},
	}}
	action, doc, err := s.lines(rec, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"create":{"_id":"abc","_index":"shop-2024-03"}}`; string(action) != want {
		t.Errorf("action = %s, want %s", action, want)
	}
	if want := `{"@timestamp":"2024-03-05T06:07:08.000000009Z","a_b":{"c_d":1},"kubernetes":{"namespace_name":"shop"},"uid":"abc"}`; string(doc) != want {
		t.Errorf("document = %s, want %s", doc, want)
	}
}

func TestGenerateIDIsStable(t *testing.T) {
	s, _ := readSettings(logpipe.Params{{Key: "Generate_ID", Value: "On"}})
	rec := logpipe.Record{Tag: "t", Time: time.Unix(1700000000, 5), Fields: map[string]any{"log": "x", "n": 1.0}}
	other := rec
	other.Fields = map[string]any{"log": "y", "n": 1.0}
	a, b, c := s.documentID(rec), s.documentID(rec.Clone()), s.documentID(other)
	if a == "" || a != b || a == c {
		t.Errorf("ids %q %q (same record) and %q (another): want equal and non-empty, then different", a, b, c)
	}
}

func TestNewRefusesBadParams(t *testing.T) {
	for _, tc := range []struct {
		p       logpipe.Params
		mention string
	}{
		{logpipe.Params{{Key: "Port", Value: "http"}}, "Port"},
		{logpipe.Params{{Key: "Host", Value: "http://es:9200"}}, "no http://"},
		{logpipe.Params{{Key: "Path", Value: "es"}}, "start with /"},
		{logpipe.Params{{Key: "AWS_Auth", Value: "On"}}, "AWS_Region"},
		{logpipe.Params{{Key: "Write_Operation", Value: "upsert"}}, "Generate_ID"},
		{logpipe.Params{{Key: "Cloud_ID", Value: "x:eA=="}}, "Cloud_ID"},
	} {
		_, err := New(append(logpipe.Params{{Key: "Name", Value: "es"}}, tc.p...), logpipe.Env{})
		if err == nil || !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), `output "es"`) {
			t.Errorf("New(%v) = %v, want an error naming the section and mentioning %q", tc.p, err, tc.mention)
		}
	}
}
