package firehose

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsfake"
)

func newOutput(t *testing.T, fake *awsfake.Server, kv ...string) *Output {
	t.Helper()
	p := logpipe.Params{{Key: "name", Value: "kinesis_firehose"}, {Key: "region", Value: "eu-west-1"}, {Key: "endpoint", Value: fake.URL}}
	for i := 0; i < len(kv); i += 2 {
		p = append(p, logpipe.Param{Key: kv[i], Value: kv[i+1]})
	}
	env := logpipe.Env{
		AWSCredentials: credentials.NewStaticCredentialsProvider("AKIDFIREHOSE", "secret", ""),
		Logf:           t.Logf,
	}
	o, err := New(p, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

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

// assertNumbered checks that records 0..n-1 arrived once each, in order.
func assertNumbered(t *testing.T, got [][]byte, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d records arrived, want %d", len(got), n)
	}
	for i, d := range got {
		if want := fmt.Sprintf(`{"log":"%d"}`+"\n", i); string(d) != want {
			t.Fatalf("record %d = %q, want %q: every record once, in order", i, d, want)
		}
	}
}

func TestRecordsArriveAsJSONLinesInCallsOfFiveHundred(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs")
	send(t, o, numbered(1201))
	if n := fake.CallCount("PutRecordBatch"); n != 3 {
		t.Errorf("PutRecordBatch calls = %d, want 3 for 1,201 records", n)
	}
	assertNumbered(t, fake.FirehoseRecords("logs"), 1201)
	if fake.LastAccessKey() != "AKIDFIREHOSE" {
		t.Errorf("signed by %q, want the Env's credentials", fake.LastAccessKey())
	}
}

func TestCallsStayUnderFourMebibytes(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs", "log_key", "log")
	var batch []logpipe.Record
	for i := range 20 {
		batch = append(batch, logpipe.Record{Tag: "t", Time: t0, Fields: map[string]any{"log": fmt.Sprintf("%03d", i) + strings.Repeat("x", 500_000)}})
	}
	send(t, o, batch) // 10 MB: 3 calls of at most 8 records
	if n := fake.CallCount("PutRecordBatch"); n != 3 {
		t.Errorf("PutRecordBatch calls = %d, want 3", n)
	}
	got := fake.FirehoseRecords("logs")
	if len(got) != 20 {
		t.Fatalf("%d records, want 20", len(got))
	}
	for i, d := range got {
		if !bytes.HasPrefix(d, fmt.Appendf(nil, "%03d", i)) {
			t.Fatalf("record %d starts %.3q, want them in order", i, d)
		}
	}
}

func TestRecordOverLimitIsDroppedOthersSent(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs", "log_key", "log")
	batch := []logpipe.Record{
		{Tag: "t", Time: t0, Fields: map[string]any{"log": "small"}},
		{Tag: "t", Time: t0, Fields: map[string]any{"log": strings.Repeat("x", 1000<<10)}},
	}
	send(t, o, batch)
	if got := fake.FirehoseRecords("logs"); len(got) != 1 || string(got[0]) != "small\n" {
		t.Errorf("records = %d, want only the small one", len(got))
	}
}

func TestRefusedEntriesAreResentAloneWithoutDuplicates(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs")
	fake.FailEntries(1, 3, 4)
	send(t, o, numbered(6))
	got := fake.FirehoseRecords("logs")
	if len(got) != 6 {
		t.Fatalf("%d records arrived, want 6 (each once): %q", len(got), got)
	}
	// Accepted first: 0, 2, 5; then the resent 1, 3, 4.
	var order []string
	for _, d := range got {
		order = append(order, strings.Trim(string(d), "{}\"log:\n"))
	}
	if strings.Join(order, ",") != "0,2,5,1,3,4" {
		t.Errorf("arrival order = %v, want the refused ones resent after", order)
	}
	if n := fake.CallCount("PutRecordBatch"); n != 2 {
		t.Errorf("PutRecordBatch calls = %d, want 2", n)
	}
}

func TestWholeCallFailuresAreRetryableAndValidationPermanent(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs", "auto_retry_requests", "off")
	for _, f := range []awsfake.Failure{awsfake.ServerError, awsfake.Throttle} {
		fake.FailNext(1, f)
		if err := o.Send(context.Background(), numbered(2)); err == nil || logpipe.IsPermanent(err) {
			t.Errorf("failure %d: Send = %v, want retryable", f, err)
		}
	}
	fake.FailNext(1, awsfake.Invalid)
	if err := o.Send(context.Background(), numbered(2)); !logpipe.IsPermanent(err) {
		t.Errorf("validation failure: Send = %v, want permanent", err)
	}
	if got := fake.FirehoseRecords("logs"); len(got) != 0 {
		t.Errorf("%d records stored from failed calls", len(got))
	}
	missing := newOutput(t, fake, "delivery_stream", "no-such-stream")
	if err := missing.Send(context.Background(), numbered(1)); !logpipe.IsPermanent(err) || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing stream: Send = %v, want permanent ResourceNotFoundException", err)
	}
}

func TestCallFailingAfterPartOfTheBatchIsRetriedInside(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs", "auto_retry_requests", "off")
	// The first call (500 records) is accepted, the second fails twice:
	// returning then would make the router resend the first 500.
	fake.FailAfter(1, 2, awsfake.ServerError)
	send(t, o, numbered(700))
	assertNumbered(t, fake.FirehoseRecords("logs"), 700)
	if n := fake.CallCount("PutRecordBatch"); n != 4 {
		t.Errorf("PutRecordBatch calls = %d, want 4 (1 accepted, 2 failed, 1 retried)", n)
	}
}

func TestTimeKeyAndGzip(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateDeliveryStream("logs")
	o := newOutput(t, fake, "delivery_stream", "logs", "time_key", "ts", "time_key_format", "%Y-%m-%dT%H:%M:%S.%3NZ", "compression", "gzip")
	send(t, o, []logpipe.Record{{Tag: "t", Time: t0, Fields: map[string]any{"log": "x"}}})
	got := fake.FirehoseRecords("logs")
	if len(got) != 1 {
		t.Fatalf("%d records", len(got))
	}
	zr, err := gzip.NewReader(bytes.NewReader(got[0]))
	if err != nil {
		t.Fatalf("record is not gzip: %v", err)
	}
	plain, _ := io.ReadAll(zr)
	if want := `{"log":"x","ts":"2025-03-01T12:00:00.123Z"}` + "\n"; string(plain) != want {
		t.Errorf("record = %q, want %q", plain, want)
	}
}

func TestInvalidParamsAreRefused(t *testing.T) {
	cases := map[string]struct {
		params []string
		want   string
	}{
		"no stream":       {[]string{"region", "r"}, "delivery_stream is required"},
		"no region":       {[]string{"delivery_stream", "d"}, "region is required"},
		"arrow":           {[]string{"region", "r", "delivery_stream", "d", "compression", "arrow"}, `compression "arrow" is not supported`},
		"bad time format": {[]string{"region", "r", "delivery_stream", "d", "time_key", "t", "time_key_format", "%Q"}, "time_key_format"},
		"role not an ARN": {[]string{"region", "r", "delivery_stream", "d", "role_arn", "admin"}, "role_arn"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := logpipe.Params{{Key: "name", Value: "kinesis_firehose"}}
			for i := 0; i < len(c.params); i += 2 {
				p = append(p, logpipe.Param{Key: c.params[i], Value: c.params[i+1]})
			}
			_, err := New(p, logpipe.Env{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"kinesis_firehose"`) {
				t.Fatalf("New = %v, want an error naming the output and %q", err, c.want)
			}
		})
	}
}
