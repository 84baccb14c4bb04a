package httpout

import (
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

func TestDateFormats(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		format string
		want   any
	}{
		{"double", 1704161045.678901234},
		{"epoch", int64(1704161045)},
		{"epoch_ms", int64(1704161045678)},
		{"iso8601", "2024-01-02T02:04:05.678901Z"},
		{"java_sql_timestamp", "2024-01-02 02:04:05.678901"},
	} {
		d, err := ReadDateKey(logpipe.Params{{Key: "json_date_format", Value: tc.format}})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Format.Value(at); got != tc.want {
			t.Errorf("%s: %v (%T), want %v", tc.format, got, got, tc.want)
		}
	}
}

func TestReadTarget(t *testing.T) {
	e := Endpoint{DefaultHost: "127.0.0.1", DefaultPort: 3100, PathKey: "Uri", DefaultPath: "/push"}
	tg, err := ReadTarget(logpipe.Params{{Key: "host", Value: "loki.svc"}, {Key: "tls", Value: "on"}}, e)
	if err != nil || tg.URL().String() != "https://loki.svc:3100/push" {
		t.Errorf("target %v %v, want https://loki.svc:3100/push", tg.URL(), err)
	}
	for _, bad := range []logpipe.Params{
		{{Key: "Host", Value: ""}},
		{{Key: "Host", Value: "https://loki"}},
		{{Key: "Host", Value: "loki/push"}},
		{{Key: "Port", Value: "0"}},
		{{Key: "Uri", Value: "push"}},
	} {
		if _, err := ReadTarget(bad, e); err == nil {
			t.Errorf("ReadTarget(%v) took it", bad)
		}
	}
}

func TestStatusError(t *testing.T) {
	for status, want := range map[int]string{200: "ok", 204: "ok", 400: "permanent", 403: "permanent", 408: "retry", 429: "retry", 500: "retry", 503: "retry"} {
		err := StatusError(status, []byte(strings.Repeat("x", 2000)))
		got := "retry"
		switch {
		case err == nil:
			got = "ok"
		case logpipe.IsPermanent(err):
			got = "permanent"
		}
		if got != want {
			t.Errorf("status %d: %s, want %s", status, got, want)
		}
		if err != nil && len(err.Error()) > 600 {
			t.Errorf("status %d: error of %d bytes; the body should be cut short", status, len(err.Error()))
		}
	}
}

func TestPrintValue(t *testing.T) {
	v := map[string]any{"b": []any{1.0, 2.5, "s", nil, false}, "a": map[string]any{"x": int64(-3)}}
	if got, want := PrintValue(v), `{"a"=>{"x"=>-3}, "b"=>[1, 2.500000, "s", nil, false]}`; got != want {
		t.Errorf("PrintValue = %s, want %s", got, want)
	}
}

func TestMarshalJSONKeepsHTML(t *testing.T) {
	b, err := MarshalJSON(map[string]any{"log": "<a & b>"})
	if err != nil || string(b) != `{"log":"<a & b>"}` {
		t.Errorf("MarshalJSON = %s %v", b, err)
	}
}
