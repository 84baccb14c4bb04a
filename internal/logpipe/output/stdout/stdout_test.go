package stdout

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

func TestFormats(t *testing.T) {
	at := time.Unix(1700000000, 5)
	batch := []logpipe.Record{
		{Tag: "kube.a", Time: at, Fields: map[string]any{"log": "hi", "n": 1.0, "k": map[string]any{"x": []any{true, nil}}}},
		{Tag: "kube.b", Time: at, Fields: map[string]any{"log": "yo"}},
	}
	for _, tc := range []struct {
		params logpipe.Params
		want   string
	}{
		{nil, `[0] kube.a: [1700000000.000000005, {"k"=>{"x"=>[true, nil]}, "log"=>"hi", "n"=>1}]` + "\n" + `[1] kube.b: [1700000000.000000005, {"log"=>"yo"}]` + "\n"},
		{logpipe.Params{{Key: "Format", Value: "json_lines"}, {Key: "json_date_format", Value: "epoch"}},
			`{"date":1700000000,"k":{"x":[true,null]},"log":"hi","n":1}` + "\n" + `{"date":1700000000,"log":"yo"}` + "\n"},
		{logpipe.Params{{Key: "Format", Value: "json"}, {Key: "json_date_key", Value: "false"}},
			`[{"k":{"x":[true,null]},"log":"hi","n":1},{"log":"yo"}]` + "\n"},
		{logpipe.Params{{Key: "Format", Value: "json_stream"}, {Key: "json_date_key", Value: "t"}, {Key: "json_date_format", Value: "java_sql_timestamp"}},
			`{"k":{"x":[true,null]},"log":"hi","n":1,"t":"2023-11-14 22:13:20.000000"}{"log":"yo","t":"2023-11-14 22:13:20.000000"}` + "\n"},
	} {
		var out bytes.Buffer
		o, err := New(tc.params, logpipe.Env{}, &out)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Send(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("%v: wrote\n%s\nwant\n%s", tc.params, out.String(), tc.want)
		}
	}
}

func TestNewRefusesBadFormat(t *testing.T) {
	for _, p := range []logpipe.Params{{{Key: "Format", Value: "gelf"}}, {{Key: "json_date_format", Value: "unix"}}} {
		if _, err := New(append(logpipe.Params{{Key: "Name", Value: "stdout"}}, p...), logpipe.Env{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `output "stdout"`) {
			t.Errorf("New(%v) = %v, want an error naming the section", p, err)
		}
	}
}
