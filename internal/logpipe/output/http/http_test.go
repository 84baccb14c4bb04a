package http

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
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
	p := logpipe.Params{{Key: "Name", Value: "http"}, {Key: "Host", Value: u.Hostname()}, {Key: "Port", Value: u.Port()}}
	for i := 0; i+1 < len(extra); i += 2 {
		p = append(p, logpipe.Param{Key: extra[i], Value: extra[i+1]})
	}
	return p
}

type received struct {
	path, user, pass, header, tag, contentType string
	lines                                      []map[string]any
}

func TestPostsJSONLines(t *testing.T) {
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rc received
		rc.path, rc.header, rc.tag, rc.contentType = r.URL.RequestURI(), r.Header.Get("X-Team"), r.Header.Get("X-Tag"), r.Header.Get("Content-Type")
		rc.user, rc.pass, _ = r.BasicAuth()
		body := io.Reader(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
			}
			body = zr
		}
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("line %q: %v", sc.Text(), err)
			}
			rc.lines = append(rc.lines, m)
		}
		got <- rc
	}))
	defer srv.Close()
	o, err := New(params(t, srv.URL, "URI", "/ingest?x=1", "Format", "json_lines", "json_date_key", "ts",
		"json_date_format", "iso8601", "Header", "X-Team logs", "HTTP_User", "u", "HTTP_Passwd", "p",
		"compress", "gzip", "header_tag", "X-Tag"), logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	at := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	err = o.Send(context.Background(), []logpipe.Record{
		{Tag: "app", Time: at, Fields: map[string]any{"log": "a <b>"}},
		{Tag: "app", Time: at, Fields: map[string]any{"log": "c"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rc := <-got
	if rc.path != "/ingest?x=1" || rc.user != "u" || rc.pass != "p" || rc.header != "logs" || rc.tag != "app" || rc.contentType != "application/json" {
		t.Errorf("request %+v: want URI /ingest?x=1, basic auth u/p, X-Team logs, X-Tag app, application/json", rc)
	}
	if len(rc.lines) != 2 || rc.lines[0]["log"] != "a <b>" || rc.lines[0]["ts"] != "2024-01-02T03:04:05.000006Z" || rc.lines[1]["log"] != "c" {
		t.Errorf("lines = %v, want two records with ts 2024-01-02T03:04:05.000006Z", rc.lines)
	}
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		status    int
		ok        bool
		permanent bool
	}{{200, true, false}, {204, true, false}, {400, false, true}, {404, false, true}, {408, false, false}, {429, false, false}, {500, false, false}, {503, false, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, "reason here")
		}))
		o, err := New(params(t, srv.URL, "Format", "json_lines"), logpipe.Env{})
		if err != nil {
			t.Fatal(err)
		}
		err = o.Send(context.Background(), []logpipe.Record{{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "x"}}})
		srv.Close()
		switch {
		case tc.ok && err != nil:
			t.Errorf("status %d: Send = %v, want nil", tc.status, err)
		case !tc.ok && (err == nil || logpipe.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), "reason here")):
			t.Errorf("status %d: Send = %v, want an error (permanent=%v) with the receiver's reason", tc.status, err, tc.permanent)
		}
	}
}

func TestUnreachableIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	o, err := New(params(t, base, "Format", "json"), logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = o.Send(context.Background(), []logpipe.Record{{Tag: "t", Time: time.Now(), Fields: map[string]any{}}})
	if err == nil || logpipe.IsPermanent(err) {
		t.Errorf("Send to a closed port = %v, want a retryable error", err)
	}
}

func TestNewRefusesBadParams(t *testing.T) {
	for _, tc := range []struct {
		p       logpipe.Params
		mention string
	}{
		{logpipe.Params{}, "Format is msgpack"},
		{logpipe.Params{{Key: "Format", Value: "gelf"}}, "gelf"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "Port", Value: "70000"}}, "Port"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "Host", Value: "logs:8080"}}, "Port"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "URI", Value: "ingest"}}, "start with /"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "Header", Value: "X-Only"}}, "Header"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "json_date_format", Value: "rfc"}}, "iso8601"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "compress", Value: "zstd"}}, "gzip"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "tls", Value: "maybe"}}, "tls"},
	} {
		_, err := New(append(logpipe.Params{{Key: "Name", Value: "http"}}, tc.p...), logpipe.Env{})
		if err == nil || !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), `output "http"`) {
			t.Errorf("New(%v) = %v, want an error naming the section and mentioning %q", tc.p, err, tc.mention)
		}
	}
}

func TestTLS(t *testing.T) {
	hits := make(chan bool, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits <- true }))
	defer srv.Close()
	rec := []logpipe.Record{{Tag: "t", Time: time.Now(), Fields: map[string]any{"log": "x"}}}

	strict, err := New(params(t, srv.URL, "Format", "json", "tls", "On"), logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := strict.Send(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("tls On against a self-signed server: Send = %v, want a certificate error", err)
	}
	loose, err := New(params(t, srv.URL, "Format", "json", "tls", "On", "tls.verify", "Off"), logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer loose.Close()
	if err := loose.Send(context.Background(), rec); err != nil {
		t.Fatalf("tls.verify Off: %v", err)
	}
	<-hits
}
