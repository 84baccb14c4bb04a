package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

var at = time.Unix(1700000000, 123456789)

func records() []logpipe.Record {
	return []logpipe.Record{
		{Tag: "app.a", Time: at, Fields: map[string]any{"log": "hello", "n": 2.0}},
		{Tag: "app.b", Time: at, Fields: map[string]any{"log": "bye", "n": 2.5}},
	}
}

func send(t *testing.T, p logpipe.Params) {
	t.Helper()
	o, err := New(append(logpipe.Params{{Key: "Name", Value: "file"}}, p...), logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Send(context.Background(), records()); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params logpipe.Params
		want   string
	}{
		{"out_file", nil, `app.a: [1700000000.123457, {"log":"hello","n":2}]` + "\n" + `app.b: [1700000000.123457, {"log":"bye","n":2.5}]` + "\n"},
		{"plain", logpipe.Params{{Key: "Format", Value: "plain"}}, `{"log":"hello","n":2}` + "\n" + `{"log":"bye","n":2.5}` + "\n"},
		{"csv", logpipe.Params{{Key: "Format", Value: "csv"}, {Key: "csv_column_names", Value: "On"}}, "timestamp,log,n\n" + `1700000000.123457,"hello",2` + "\n" + `1700000000.123457,"bye",2.500000` + "\n"},
		{"ltsv", logpipe.Params{{Key: "Format", Value: "ltsv"}, {Key: "Label_Delimiter", Value: "space"}}, "\"time\" 1700000000.123457\t\"log\" \"hello\"\t\"n\" 2\n\"time\" 1700000000.123457\t\"log\" \"bye\"\t\"n\" 2.500000\n"},
		{"template", logpipe.Params{{Key: "Format", Value: "template"}, {Key: "Template", Value: "{time} {log} n={n}{missing}"}}, "1700000000.123457 hello n=2\n1700000000.123457 bye n=2.500000\n"},
	} {
		dir := t.TempDir()
		send(t, append(tc.params, logpipe.Param{Key: "Path", Value: dir}, logpipe.Param{Key: "File", Value: "out.log"}))
		if got := read(t, filepath.Join(dir, "out.log")); got != tc.want {
			t.Errorf("%s: file holds\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}

func TestFilePerTagAppends(t *testing.T) {
	dir := t.TempDir()
	p := logpipe.Params{{Key: "Path", Value: dir}, {Key: "Format", Value: "plain"}}
	send(t, p)
	send(t, p)
	if got, want := read(t, filepath.Join(dir, "app.a")), `{"log":"hello","n":2}`+"\n"+`{"log":"hello","n":2}`+"\n"; got != want {
		t.Errorf("app.a holds %q, want the record appended twice", got)
	}
	if got := read(t, filepath.Join(dir, "app.b")); !strings.Contains(got, "bye") {
		t.Errorf("app.b holds %q, want app.b's record", got)
	}
}

func TestMkdir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	o, err := New(logpipe.Params{{Key: "Path", Value: dir}}, logpipe.Env{})
	if err != nil {
		t.Fatal(err)
	}
	err = o.Send(context.Background(), records())
	if err == nil || !logpipe.IsPermanent(err) || !strings.Contains(err.Error(), "Mkdir On") {
		t.Fatalf("missing directory without mkdir: Send = %v, want a permanent error naming Mkdir On", err)
	}
	send(t, logpipe.Params{{Key: "Path", Value: dir}, {Key: "Mkdir", Value: "On"}})
	if got := read(t, filepath.Join(dir, "app.a")); !strings.HasPrefix(got, "app.a: [") {
		t.Errorf("app.a holds %q", got)
	}
}

func TestNewRefusesBadParams(t *testing.T) {
	for _, p := range []logpipe.Params{
		{{Key: "Format", Value: "msgpack"}},
		{{Key: "Format", Value: "xml"}},
		{{Key: "File", Value: "a/b.log"}},
		{{Key: "Mkdir", Value: "sure"}},
	} {
		if _, err := New(append(logpipe.Params{{Key: "Name", Value: "file"}}, p...), logpipe.Env{}); err == nil || !strings.Contains(err.Error(), `output "file"`) {
			t.Errorf("New(%v) = %v, want an error naming the section", p, err)
		}
	}
}
