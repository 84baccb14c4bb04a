package multiline

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

var t0 = time.Date(2026, 12, 4, 5, 4, 10, 0, time.UTC)

// feeder sends lines through a Joiner as records of one tag, each with a
// later time and a field a kubernetes filter would have added.
type feeder struct {
	t *testing.T
	j *Joiner
	n int
}

func (f *feeder) record(tag, line string) logpipe.Record {
	f.n++
	return logpipe.Record{Tag: tag, Time: t0.Add(time.Duration(f.n) * time.Second),
		Fields: map[string]any{"log": line, "kubernetes": map[string]any{"pod_name": "web"}}}
}

// send feeds lines of tag and returns the logs of what came out.
func (f *feeder) send(tag string, lines ...string) []string {
	var out []string
	for _, l := range lines {
		for _, r := range f.j.Filter(f.record(tag, l)) {
			out = append(out, logOf(f.t, r))
		}
	}
	return out
}

func (f *feeder) flush() []string {
	var out []string
	for _, r := range f.j.Flush() {
		out = append(out, logOf(f.t, r))
	}
	return out
}

func logOf(t *testing.T, r logpipe.Record) string {
	t.Helper()
	s, ok := r.Fields["log"].(string)
	if !ok {
		t.Fatalf("record without a log: %v", r)
	}
	return s
}

func newFeeder(t *testing.T, names ...string) *feeder {
	t.Helper()
	j, err := New(names, "log", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t: t, j: j}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

var javaTrace = []string{
	`Exception in thread "main" java.lang.IllegalStateException: could not load order 42`,
	"\tat com.example.shop.OrderService.load(OrderService.java:88)",
	"\tat com.example.shop.Main.main(Main.java:12)",
	"Caused by: java.sql.SQLTransientConnectionException: pool timed out after 30000ms",
	"\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
	"\t... 2 more",
}

func TestJava(t *testing.T) {
	f := newFeeder(t, "java")
	got := f.send("app", slices.Concat([]string{"2026-12-04 05:04:09 INFO starting"}, javaTrace,
		[]string{"2026-12-04 05:04:11 INFO retrying"})...)
	equal(t, "java", got, []string{
		"2026-12-04 05:04:09 INFO starting",
		strings.Join(javaTrace, "\n"),
		"2026-12-04 05:04:11 INFO retrying",
	})
	equal(t, "flush after", f.flush(), nil)
}

// The joined record is the first line's: its time and other fields.
func TestJoinedRecordKeepsFirstRecord(t *testing.T) {
	f := newFeeder(t, "java")
	var out []logpipe.Record
	for _, l := range slices.Concat(javaTrace, []string{"done"}) {
		out = append(out, f.j.Filter(f.record("app", l))...)
	}
	if len(out) != 2 {
		t.Fatalf("got %d records, want 2", len(out))
	}
	joined := out[0]
	if !joined.Time.Equal(t0.Add(time.Second)) || joined.Tag != "app" {
		t.Errorf("joined record: time %v tag %q, want the first line's", joined.Time, joined.Tag)
	}
	if !reflect.DeepEqual(joined.Fields["kubernetes"], map[string]any{"pod_name": "web"}) {
		t.Errorf("joined record lost its fields: %v", joined.Fields)
	}
}

func TestPython(t *testing.T) {
	f := newFeeder(t, "python")
	trace := []string{
		"Traceback (most recent call last):",
		`  File "/app/main.py", line 14, in <module>`,
		"    main()",
		`  File "/app/main.py", line 10, in main`,
		`    raise ValueError("bad value")`,
		"ValueError: bad value",
	}
	// The exception line completes the message: it comes out at once.
	equal(t, "traceback", f.send("app", trace...), []string{strings.Join(trace, "\n")})
	equal(t, "after", f.send("app", "INFO: still here"), []string{"INFO: still here"})
}

func TestGo(t *testing.T) {
	f := newFeeder(t, "go")
	trace := []string{
		"panic: runtime error: index out of range [5] with length 3",
		"",
		"goroutine 1 [running]:",
		"main.lookup(...)",
		"\t/app/main.go:8",
		"main.main()",
		"\t/app/main.go:13 +0x1d",
	}
	got := f.send("app", slices.Concat([]string{"starting"}, trace, []string{"exit status 2"})...)
	equal(t, "go", got, []string{"starting", strings.Join(trace, "\n"), "exit status 2"})
}

func TestCRIPartials(t *testing.T) {
	f := newFeeder(t, "cri")
	var out []logpipe.Record
	for _, l := range []string{
		"2026-12-04T05:04:10.100000000Z stdout P a long line, ",
		"2026-12-04T05:04:10.200000000Z stderr F an error meanwhile",
		"2026-12-04T05:04:10.300000000Z stdout P split by the runtime ",
		"2026-12-04T05:04:10.400000000+00:00 stdout F into three parts",
		"not a CRI line",
	} {
		out = append(out, f.j.Filter(f.record("app", l))...)
	}
	if len(out) != 3 {
		t.Fatalf("got %d records: %v", len(out), out)
	}
	want := []map[string]any{
		{"time": "2026-12-04T05:04:10.200000000Z", "stream": "stderr", "_p": "F", "log": "an error meanwhile",
			"kubernetes": map[string]any{"pod_name": "web"}},
		{"time": "2026-12-04T05:04:10.100000000Z", "stream": "stdout", "_p": "P",
			"log": "a long line, split by the runtime into three parts", "kubernetes": map[string]any{"pod_name": "web"}},
		{"log": "not a CRI line", "kubernetes": map[string]any{"pod_name": "web"}},
	}
	for i := range want {
		if !reflect.DeepEqual(out[i].Fields, want[i]) {
			t.Errorf("record %d: %v, want %v", i, out[i].Fields, want[i])
		}
	}
	if want := time.Date(2026, 12, 4, 5, 4, 10, 100000000, time.UTC); !out[1].Time.Equal(want) {
		t.Errorf("joined time %v, want the first part's %v", out[1].Time, want)
	}
}

// A line no parser takes ends the pending message and passes through,
// after it; so do P parts cut short.
func TestCRIUnfinishedPartsFlushedByOtherLine(t *testing.T) {
	f := newFeeder(t, "cri")
	got := f.send("app", "2026-12-04T05:04:10.1Z stdout P cut ", "2026-12-04T05:04:10.2Z stdout P short", "plain")
	equal(t, "cut", got, []string{"cut short", "plain"})
}

func TestTagsAreSeparateStreams(t *testing.T) {
	f := newFeeder(t, "java")
	var got []string
	got = append(got, f.send("a", javaTrace[:2]...)...)
	got = append(got, f.send("b", "b says hi", "b says bye")...)
	got = append(got, f.send("a", javaTrace[2:]...)...)
	got = append(got, f.send("a", "a done")...)
	equal(t, "interleaved", got, []string{"b says hi", "b says bye", strings.Join(javaTrace, "\n"), "a done"})
}

func TestFlushEmitsPending(t *testing.T) {
	f := newFeeder(t, "python", "java")
	equal(t, "pending", f.send("a", "Traceback (most recent call last):", `  File "x.py", line 1, in <module>`), nil)
	equal(t, "pending b", f.send("b", javaTrace[:2]...), nil)
	equal(t, "flush", f.flush(), []string{
		"Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>",
		strings.Join(javaTrace[:2], "\n"),
	})
	equal(t, "second flush", f.flush(), nil)
	// As in Fluent Bit, the state outlives the flush: the rest of the
	// stack trace goes on as a record of its own.
	equal(t, "rest", f.send("b", javaTrace[2:]...), nil)
	equal(t, "flush rest", f.flush(), []string{strings.Join(javaTrace[2:], "\n")})
}

// With several parsers, a message of one is emitted before a line
// another parser takes.
func TestParsersKeepOrder(t *testing.T) {
	f := newFeeder(t, "java", "python")
	got := f.send("app", slices.Concat(javaTrace[:3], []string{"Traceback (most recent call last):",
		`  File "x.py", line 1, in <module>`, "    boom()", "NameError: name 'boom' is not defined"})...)
	equal(t, "java then python", got, []string{
		strings.Join(javaTrace[:3], "\n"),
		"Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    boom()\nNameError: name 'boom' is not defined",
	})
}

func TestRecordWithoutContentPassesAndFlushes(t *testing.T) {
	f := newFeeder(t, "java")
	equal(t, "pending", f.send("app", javaTrace[:2]...), nil)
	other := logpipe.Record{Tag: "app", Fields: map[string]any{"message": "no log field"}}
	out := f.j.Filter(other)
	if len(out) != 2 || logOf(t, out[0]) != strings.Join(javaTrace[:2], "\n") || !reflect.DeepEqual(out[1], other) {
		t.Errorf("got %v", out)
	}
}

func TestBufferLimit(t *testing.T) {
	f := newFeeder(t, "java")
	f.j.SetBufferLimit(len(javaTrace[0]) + len(javaTrace[1]) + len(javaTrace[2]) + 2)
	got := f.send("app", slices.Concat(javaTrace, []string{"done"})...)
	equal(t, "limited", got, []string{
		strings.Join(javaTrace[:3], "\n"),
		strings.Join(javaTrace[3:], "\n"),
		"done",
	})
}

func TestFromParams(t *testing.T) {
	p := logpipe.Params{
		{Key: "Name", Value: "multiline"},
		{Key: "Match", Value: "kube.*"},
		{Key: "multiline.key_content", Value: "message"},
		{Key: "multiline.parser", Value: "java, Python"},
		{Key: "flush_ms", Value: "500"},
	}
	j, err := FromParams(p)
	if err != nil {
		t.Fatal(err)
	}
	if j.FlushTimeout() != 500*time.Millisecond || j.key != "message" || len(j.parsers) != 2 {
		t.Errorf("flush %v key %q parsers %d", j.FlushTimeout(), j.key, len(j.parsers))
	}
	out := j.Filter(logpipe.Record{Tag: "t", Fields: map[string]any{"message": "Traceback (most recent call last):"}})
	if len(out) != 0 {
		t.Errorf("the python parser did not take the traceback from message: %v", out)
	}
	j, err = FromParams(logpipe.Params{{Key: "multiline.parser", Value: "go"}})
	if err != nil || j.FlushTimeout() != 2*time.Second || j.key != "log" {
		t.Errorf("defaults: %v %v", j, err)
	}
	for _, tc := range []struct {
		params logpipe.Params
		want   string
	}{
		{logpipe.Params{}, "multiline.parser is missing"},
		{logpipe.Params{{Key: "multiline.parser", Value: "docker"}}, "use cri"},
		{logpipe.Params{{Key: "multiline.parser", Value: "java,multiline-regex-test"}}, `"multiline-regex-test" is not a built-in`},
		{logpipe.Params{{Key: "multiline.parser", Value: "go"}, {Key: "mode", Value: "partial_message"}}, `mode "partial_message"`},
		{logpipe.Params{{Key: "multiline.parser", Value: "go"}, {Key: "flush_ms", Value: "soon"}}, "flush_ms"},
		{logpipe.Params{{Key: "multiline.parser", Value: "go"}, {Key: "flush_ms", Value: "0"}}, "above 0"},
	} {
		if _, err := FromParams(tc.params); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.params, err, tc.want)
		}
	}
}

// The raw CRI line may sit in another field; the joined text goes to log,
// and the buffer limit cuts a runaway line into records.
func TestCRIOtherKeyAndLimit(t *testing.T) {
	j, err := New([]string{"cri"}, "message", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	j.SetBufferLimit(10)
	var logs []string
	for _, l := range []string{
		"2026-12-04T05:04:10.1Z stdout P 123456",
		"2026-12-04T05:04:10.2Z stdout P 7890",
		"2026-12-04T05:04:10.3Z stdout F abc",
	} {
		for _, r := range j.Filter(logpipe.Record{Tag: "t", Fields: map[string]any{"message": l}}) {
			if _, raw := r.Fields["message"]; raw {
				t.Errorf("the raw line's field is still there: %v", r.Fields)
			}
			logs = append(logs, logOf(t, r))
		}
	}
	equal(t, "limited", logs, []string{"1234567890", "abc"})
}
