package cloudwatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsfake"
)

func TestBatchesSplitAtTenThousandEvents(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log")
	var batch []logpipe.Record
	for i := range 25000 {
		batch = append(batch, record("t", t0.Add(time.Duration(i)*time.Millisecond), map[string]any{"log": fmt.Sprint(i)}))
	}
	send(t, o, batch...)
	if n := fake.CallCount("PutLogEvents"); n != 3 {
		t.Errorf("PutLogEvents calls = %d, want 3 for 25,000 events", n)
	}
	assertAllInOrder(t, fake.LogEvents("g", "s"), 25000)
}

func TestBatchesSplitAtOneMebibyte(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log")
	// 100 events of 30,000 bytes: 3 MB, so at least 3 calls; each of
	// 34 events would be 1,020,884 bytes with the overhead, 35 too many.
	var batch []logpipe.Record
	for i := range 100 {
		msg := fmt.Sprintf("%05d", i) + strings.Repeat("x", 30000-5)
		batch = append(batch, record("t", t0.Add(time.Duration(i)*time.Millisecond), map[string]any{"log": msg}))
	}
	send(t, o, batch...)
	if n := fake.CallCount("PutLogEvents"); n != 3 {
		t.Errorf("PutLogEvents calls = %d, want 3", n)
	}
	events := fake.LogEvents("g", "s")
	if len(events) != 100 {
		t.Fatalf("%d events arrived, want 100", len(events))
	}
	for i, e := range events {
		if !strings.HasPrefix(e.Message, fmt.Sprintf("%05d", i)) {
			t.Fatalf("event %d is %.5s…, want them in order", i, e.Message)
		}
	}
}

func TestBatchesSplitAtTwentyFourHours(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log")
	send(t, o,
		record("t", t0, map[string]any{"log": "day 1"}),
		record("t", t0.Add(23*time.Hour), map[string]any{"log": "day 1, later"}),
		record("t", t0.Add(25*time.Hour), map[string]any{"log": "day 2"}),
	)
	if n := fake.CallCount("PutLogEvents"); n != 2 {
		t.Errorf("PutLogEvents calls = %d, want 2", n)
	}
	if got := strings.Join(messages(fake.LogEvents("g", "s")), "|"); got != "day 1|day 1, later|day 2" {
		t.Errorf("events = %s", got)
	}
}

func TestLargeEventIsTruncated(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log")
	// "é" is two bytes: the cut must not split one.
	send(t, o, record("t", t0, map[string]any{"log": "a" + strings.Repeat("é", 200000)}))
	ev := fake.LogEvents("g", "s")
	if len(ev) != 1 {
		t.Fatalf("%d events, want 1", len(ev))
	}
	if n := len(ev[0].Message); n > 262144-26 || n < 262144-26-1 || !utf8.ValidString(ev[0].Message) {
		t.Errorf("message of %d bytes (valid UTF-8: %v), want it cut to at most 262,118 bytes", n, utf8.ValidString(ev[0].Message))
	}
}

func assertAllInOrder(t *testing.T, events []awsfake.LogEvent, n int) {
	t.Helper()
	if len(events) != n {
		t.Fatalf("%d events arrived, want %d", len(events), n)
	}
	for i, e := range events {
		if e.Message != fmt.Sprint(i) {
			t.Fatalf("event %d is %q, want every event once, in order", i, e.Message)
		}
	}
}

func TestServerErrorsAndThrottlingAreRetryable(t *testing.T) {
	for _, f := range []awsfake.Failure{awsfake.ServerError, awsfake.Throttle} {
		fake := awsfake.New(t)
		fake.CreateLogGroup("g")
		o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s", "log_key", "log",
			"auto_retry_requests", "false")
		batch := []logpipe.Record{record("t", t0, map[string]any{"log": "x"})}
		fake.FailNext(1, f)
		err := o.Send(context.Background(), batch)
		if err == nil || logpipe.IsPermanent(err) {
			t.Fatalf("failure %d: Send = %v, want a retryable error", f, err)
		}
		// The router's retry of the same batch then succeeds.
		send(t, o, batch...)
		if n := len(fake.LogEvents("g", "s")); n != 1 {
			t.Errorf("failure %d: %d events after the retry, want 1", f, n)
		}
	}
}

func TestAutoRetryRequestsRetriesOnceAtOnce(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s")
	fake.FailNext(1, awsfake.ServerError)
	send(t, o, record("t", t0, map[string]any{"log": "x"}))
	if n := len(fake.LogEvents("g", "s")); n != 1 {
		t.Errorf("%d events, want 1 after the SDK's one retry", n)
	}
}

func TestValidationErrorIsPermanent(t *testing.T) {
	fake := awsfake.New(t)
	fake.CreateLogGroup("g")
	o := newOutput(t, fake, "log_group_name", "g", "log_stream_name", "s")
	send(t, o, record("t", t0, map[string]any{"log": "makes the stream"}))
	fake.FailNext(1, awsfake.Invalid)
	err := o.Send(context.Background(), []logpipe.Record{record("t", t0, map[string]any{"log": "x"})})
	if !logpipe.IsPermanent(err) || !strings.Contains(err.Error(), "InvalidParameterException") {
		t.Fatalf("Send = %v, want a permanent error with the service's code", err)
	}
}
