package kinesis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsfake"
)

func newOutput(t *testing.T, endpoint string, kv ...string) *Output {
	t.Helper()
	p := logpipe.Params{{Key: "name", Value: "kinesis"}, {Key: "region", Value: "us-east-1"}, {Key: "endpoint", Value: endpoint}}
	for i := 0; i < len(kv); i += 2 {
		p = append(p, logpipe.Param{Key: kv[i], Value: kv[i+1]})
	}
	o, err := New(p, logpipe.Env{AWSCredentials: testCredentials, Logf: t.Logf})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func numbered(n int) []logpipe.Record {
	batch := make([]logpipe.Record, n)
	for i := range batch {
		batch[i] = logpipe.Record{Tag: "t", Time: t0, Fields: map[string]any{"log": fmt.Sprint(i)}}
	}
	return batch
}

func send(t *testing.T, o *Output, batch []logpipe.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := o.Send(ctx, batch); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func assertPermanent(t *testing.T, err error) {
	t.Helper()
	if !logpipe.IsPermanent(err) {
		t.Errorf("error %v is not permanent", err)
	}
}

// kinesalite cannot refuse part of a batch; the fake can.
func TestRefusedRecordsAreResentAloneWithoutDuplicates(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateKinesisStream("logs")
	o := newOutput(t, fake.URL, "stream", "logs", "log_key", "log", "append_newline", "on")
	fake.FailEntries(0, 2)
	send(t, o, numbered(4))
	var got []string
	for _, r := range fake.KinesisRecords("logs") {
		got = append(got, string(r.Data))
	}
	if strings.Join(got, "") != "1\n3\n0\n2\n" {
		t.Errorf("records = %q, want 1 and 3 accepted, then 0 and 2 resent, each once", got)
	}
}

func TestPartitionKeys(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateKinesisStream("logs")
	o := newOutput(t, fake.URL, "stream", "logs", "partition_key", "kubernetes->pod_name")
	long := strings.Repeat("p", 300)
	send(t, o, []logpipe.Record{
		{Tag: "t", Time: t0, Fields: map[string]any{"kubernetes": map[string]any{"pod_name": "web-1"}}},
		{Tag: "t", Time: t0, Fields: map[string]any{"kubernetes": map[string]any{"pod_name": long}}},
		{Tag: "t", Time: t0, Fields: map[string]any{"log": "no pod"}},
		{Tag: "t", Time: t0, Fields: map[string]any{"log": "no pod either"}},
	})
	recs := fake.KinesisRecords("logs")
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	if recs[0].PartitionKey != "web-1" || recs[1].PartitionKey != long[:256] {
		t.Errorf("keys = %q, %q; want the pod name, cut to 256", recs[0].PartitionKey, recs[1].PartitionKey)
	}
	if recs[2].PartitionKey == "" || recs[2].PartitionKey == recs[3].PartitionKey {
		t.Errorf("keys without the field = %q, %q; want random ones", recs[2].PartitionKey, recs[3].PartitionKey)
	}
}

func TestCallsKeepToKinesisLimits(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateKinesisStream("logs")
	o := newOutput(t, fake.URL, "stream", "logs", "log_key", "log")
	var batch []logpipe.Record
	for i := range 12 {
		batch = append(batch, logpipe.Record{Tag: "t", Time: t0, Fields: map[string]any{"log": fmt.Sprintf("%02d", i) + strings.Repeat("x", 1_000_000)}})
	}
	send(t, o, batch) // 12 MB: 3 calls of at most 5 records
	if n := fake.CallCount("PutRecords"); n != 3 {
		t.Errorf("PutRecords calls = %d, want 3", n)
	}
	recs := fake.KinesisRecords("logs")
	if len(recs) != 12 {
		t.Fatalf("%d records, want 12", len(recs))
	}
	for i, r := range recs {
		if string(r.Data[:2]) != fmt.Sprintf("%02d", i) {
			t.Fatalf("record %d starts %q, want them in order", i, r.Data[:2])
		}
	}
}

func TestThrottlingIsRetryable(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateKinesisStream("logs")
	o := newOutput(t, fake.URL, "stream", "logs", "auto_retry_requests", "false")
	fake.FailNext(1, awsfake.Throttle)
	if err := o.Send(context.Background(), numbered(1)); err == nil || logpipe.IsPermanent(err) {
		t.Fatalf("Send = %v, want a retryable error", err)
	}
}

func TestInvalidParamsAreRefused(t *testing.T) {
	cases := map[string]struct {
		params []string
		want   string
	}{
		"no stream":    {[]string{"region", "r"}, "stream is required"},
		"bad key":      {[]string{"region", "r", "stream", "s", "partition_key", "$a['b"}, "partition_key"},
		"bad compress": {[]string{"region", "r", "stream", "s", "compression", "snappy"}, "compression"},
		"bad newline":  {[]string{"region", "r", "stream", "s", "append_newline", "maybe"}, "append_newline"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := logpipe.Params{{Key: "name", Value: "kinesis"}}
			for i := 0; i < len(c.params); i += 2 {
				p = append(p, logpipe.Param{Key: c.params[i], Value: c.params[i+1]})
			}
			_, err := New(p, logpipe.Env{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"kinesis"`) {
				t.Fatalf("New = %v, want an error naming the output and %q", err, c.want)
			}
		})
	}
}
