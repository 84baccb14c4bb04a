package cloudwatch

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsfake"
)

// newOutput builds an output sending to fake with the given keys.
func newOutput(t *testing.T, fake *awsfake.Server, kv ...string) *Output {
	t.Helper()
	p := logpipe.Params{{Key: "name", Value: "cloudwatch_logs"}, {Key: "region", Value: "us-east-1"}, {Key: "endpoint", Value: fake.URL}}
	for i := 0; i < len(kv); i += 2 {
		p = append(p, logpipe.Param{Key: kv[i], Value: kv[i+1]})
	}
	env := logpipe.Env{
		AWSCredentials: credentials.NewStaticCredentialsProvider("AKIDCLOUDWATCH", "secret", ""),
		Logf:           t.Logf,
	}
	o, err := New(p, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func record(tag string, at time.Time, fields map[string]any) logpipe.Record {
	return logpipe.Record{Tag: tag, Time: at, Fields: fields}
}

func send(t *testing.T, o *Output, batch ...logpipe.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := o.Send(ctx, batch); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func messages(events []awsfake.LogEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Message)
	}
	return out
}

func TestStreamPerTagWithPrefixIsCreatedAndGetsRecordsAsJSON(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("fargo")
	o := newOutput(t, fake, "log_group_name", "fargo", "log_stream_prefix", "from-fluent-bit-")

	send(t, o,
		record("kube.a", t0, map[string]any{"log": "one <b>&", "n": float64(1)}),
		record("kube.b", t0.Add(time.Second), map[string]any{"log": "two"}),
		record("kube.a", t0.Add(2*time.Second), map[string]any{"log": "three", "k": map[string]any{"x": true}}),
	)

	if got := strings.Join(fake.LogStreams("fargo"), ","); got != "from-fluent-bit-kube.a,from-fluent-bit-kube.b" {
		t.Fatalf("streams = %s", got)
	}
	a := fake.LogEvents("fargo", "from-fluent-bit-kube.a")
	want := []string{`{"log":"one <b>&","n":1}`, `{"k":{"x":true},"log":"three"}`}
	if got := messages(a); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kube.a events = %q, want %q", got, want)
	}
	if a[0].Timestamp != t0.UnixMilli() || a[1].Timestamp != t0.Add(2*time.Second).UnixMilli() {
		t.Errorf("timestamps = %d, %d; want the record times in ms", a[0].Timestamp, a[1].Timestamp)
	}
	if fake.LastAccessKey() != "AKIDCLOUDWATCH" {
		t.Errorf("requests signed by %q, want the Env's credentials", fake.LastAccessKey())
	}

	// A second batch to a known stream does not create it again.
	before := fake.CallCount("CreateLogStream")
	send(t, o, record("kube.a", t0.Add(3*time.Second), map[string]any{"log": "four"}))
	if n := fake.CallCount("CreateLogStream"); n != before {
		t.Errorf("CreateLogStream called %d more times for a known stream", n-before)
	}
	if n := len(fake.LogEvents("fargo", "from-fluent-bit-kube.a")); n != 3 {
		t.Errorf("kube.a has %d events, want 3", n)
	}
}

func TestExistingStreamIsUsed(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	first := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s")
	send(t, first, record("t", t0, map[string]any{"log": "from the first"}))
	// A new output (fargo restarted) finds the stream made before.
	second := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s")
	send(t, second, record("t", t0, map[string]any{"log": "from the second"}))
	if got := messages(fake.LogEvents("g", "s")); len(got) != 2 {
		t.Fatalf("events = %q, want both", got)
	}
}

func TestMissingGroupWithoutAutoCreateIsPermanentAndNamesTheFix(t *testing.T) {
	fake := awsfake.New(t)
	o := newOutput(t, fake, "log_group_name", "nope", "log_stream_name", "s")
	err := o.Send(context.Background(), []logpipe.Record{record("t", t0, map[string]any{"log": "x"})})
	if err == nil || !logpipe.IsPermanent(err) || !strings.Contains(err.Error(), "auto_create_group") {
		t.Fatalf("Send = %v, want a permanent error naming auto_create_group", err)
	}
}

func TestAutoCreateGroupSetsRetention(t *testing.T) {
	fake := awsfake.New(t)
	o := newOutput(t, fake, "log_group_name", "/eks/fargo", "log_stream_name", "s",
		"auto_create_group", "On", "log_retention_days", "14")
	send(t, o, record("t", t0, map[string]any{"log": "x"}))
	days, ok := fake.LogGroup("/eks/fargo")
	if !ok || days != 14 {
		t.Fatalf("group exists=%v retention=%d, want a new group with 14 days", ok, days)
	}
	if n := len(fake.LogEvents("/eks/fargo", "s")); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestAutoCreateGroupLeavesExistingGroupsRetention(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s",
		"auto_create_group", "true", "log_retention_days", "30")
	send(t, o, record("t", t0, map[string]any{"log": "x"}))
	if days, _ := fake.LogGroup("g"); days != 0 {
		t.Errorf("retention of an existing group = %d, want it unchanged", days)
	}
	if n := len(fake.LogEvents("g", "s")); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestTemplatesFallBackWhenAKeyIsMissing(t *testing.T) {
	fake := awsfake.New(t)
	o := newOutput(t, fake, "auto_create_group", "on",
		"log_group_name", "fallback-group", "log_stream_prefix", "pre-",
		"log_group_template", "app-$kubernetes['namespace_name']",
		"log_stream_template", "$kubernetes['namespace_name'].$kubernetes['pod_name'].$TAG[1]")
	k8s := map[string]any{"namespace_name": "shop", "pod_name": "web-1"}
	send(t, o,
		record("kube.c1", t0, map[string]any{"log": "templated", "kubernetes": k8s}),
		record("kube.c2", t0, map[string]any{"log": "no pod", "kubernetes": map[string]any{"namespace_name": "shop"}}),
		record("kube.c3", t0, map[string]any{"log": "no kubernetes"}),
	)
	checks := []struct{ group, stream, msg string }{
		{"app-shop", "shop.web-1.c1", "templated"},
		{"app-shop", "pre-kube.c2", "no pod"},
		{"fallback-group", "pre-kube.c3", "no kubernetes"},
	}
	for _, c := range checks {
		ev := fake.LogEvents(c.group, c.stream)
		if len(ev) != 1 || !strings.Contains(ev[0].Message, c.msg) {
			t.Errorf("%s:%s = %q, want the record %q", c.group, c.stream, messages(ev), c.msg)
		}
	}
}

func TestGoPluginTemplatesUseDefaultNames(t *testing.T) {
	fake := awsfake.New(t)
	o := newOutput(t, fake, "auto_create_group", "true",
		"log_group_name", "/eks/$(kubernetes['namespace_name'])",
		"log_stream_name", "$(tag[1])-$(kubernetes['pod_name'])",
		"default_log_group_name", "/eks/default")
	send(t, o,
		record("kube.app", t0, map[string]any{"log": "a", "kubernetes": map[string]any{"namespace_name": "ns", "pod_name": "p"}}),
		record("kube.app", t0, map[string]any{"log": "b"}),
	)
	if n := len(fake.LogEvents("/eks/ns", "app-p")); n != 1 {
		t.Errorf("/eks/ns:app-p has %d events, want 1", n)
	}
	if n := len(fake.LogEvents("/eks/default", "/fluentbit-default")); n != 1 {
		t.Errorf("fallback stream has %d events, want 1 (streams: %v)", n, fake.LogStreams("/eks/default"))
	}
}

func TestLogKeySendsOnlyThatValue(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log")
	send(t, o,
		record("t", t0, map[string]any{"log": "plain text line", "stream": "stdout"}),
		record("t", t0, map[string]any{"other": "no log key: dropped"}),
		record("t", t0, map[string]any{"log": map[string]any{"nested": float64(2)}}),
	)
	got := messages(fake.LogEvents("g", "s"))
	want := []string{"plain text line", `{"nested":2}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestEventsAreSortedByTime(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log")
	send(t, o,
		record("t", t0.Add(2*time.Second), map[string]any{"log": "third"}),
		record("t", t0, map[string]any{"log": "first"}),
		record("t", t0.Add(time.Second), map[string]any{"log": "second"}),
		record("t", t0.Add(time.Second), map[string]any{"log": "second, later in the batch"}),
	)
	got := strings.Join(messages(fake.LogEvents("g", "s")), "|")
	if got != "first|second|second, later in the batch|third" {
		t.Errorf("events = %s", got)
	}
}

func TestInvalidParamsAreRefused(t *testing.T) {
	cases := map[string]struct {
		params []string
		want   string
	}{
		"no region":     {[]string{"log_group_name", "g", "log_stream_name", "s"}, "region is required"},
		"no group":      {[]string{"region", "r", "log_stream_name", "s"}, "log_group_name is required"},
		"no stream":     {[]string{"region", "r", "log_group_name", "g"}, "log_stream_name or log_stream_prefix"},
		"both streams":  {[]string{"region", "r", "log_group_name", "g", "log_stream_name", "s", "log_stream_prefix", "p"}, "keep one"},
		"bad retention": {[]string{"region", "r", "log_group_name", "g", "log_stream_name", "s", "log_retention_days", "2"}, "log_retention_days 2"},
		"bad format":    {[]string{"region", "r", "log_group_name", "g", "log_stream_name", "s", "log_format", "xml"}, "use json/emf"},
		"bad template":  {[]string{"region", "r", "log_group_name", "g", "log_stream_name", "s", "log_stream_template", "$a['b"}, "log_stream_template"},
		"bad endpoint":  {[]string{"region", "r", "log_group_name", "g", "log_stream_name", "s", "endpoint", "ftp://x"}, "endpoint"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := logpipe.Params{{Key: "Name", Value: "cloudwatch_logs"}}
			for i := 0; i < len(c.params); i += 2 {
				p = append(p, logpipe.Param{Key: c.params[i], Value: c.params[i+1]})
			}
			_, err := New(p, logpipe.Env{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"cloudwatch_logs"`) {
				t.Fatalf("New = %v, want an error naming the output and %q", err, c.want)
			}
		})
	}
}

func TestEMFAndIgnoredKeysAreAccepted(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_format", "json/emf",
		"metric_namespace", "ns", "metric_dimensions", "a,b", "sts_endpoint", "sts.example.com")
	emf := map[string]any{"_aws": map[string]any{"Timestamp": float64(1)}, "latency": float64(3)}
	send(t, o, record("t", t0, emf))
	var got map[string]any
	ev := fake.LogEvents("g", "s")
	if len(ev) != 1 || json.Unmarshal([]byte(ev[0].Message), &got) != nil || got["latency"] != float64(3) {
		t.Errorf("events = %q, want the EMF record", messages(ev))
	}
}
