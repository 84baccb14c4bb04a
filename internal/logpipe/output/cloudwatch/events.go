package cloudwatch

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsclient"
)

// PutLogEvents limits.
const (
	maxEventsPerPut = 10000
	maxPutBytes     = 1048576
	// eventOverhead is what CloudWatch counts per event besides its
	// message.
	eventOverhead = 26
	// maxMessageBytes is the longest message Fluent Bit sends: 256 KiB
	// less the overhead; longer ones are truncated.
	maxMessageBytes = 262144 - eventOverhead
	// maxPutSpanMillis: the events of one call lie within 24 hours.
	maxPutSpanMillis = 24 * 60 * 60 * 1000
)

// destination is one stream's events of a batch, in batch order.
type destination struct {
	key    streamKey
	events []types.InputLogEvent
}

// destinations sorts a batch's records into their streams, in the order
// each stream first appears. Records that give no message (no log_key
// field, an empty one) are dropped and logged, as Fluent Bit does.
func (o *Output) destinations(batch []logpipe.Record) []*destination {
	var out []*destination
	byKey := map[streamKey]*destination{}
	for _, rec := range batch {
		msg, ok := o.message(rec)
		if !ok {
			continue
		}
		group, stream := o.names.destination(rec)
		key := streamKey{group, stream}
		d := byKey[key]
		if d == nil {
			d = &destination{key: key}
			byKey[key] = d
			out = append(out, d)
		}
		d.events = append(d.events, types.InputLogEvent{
			Message:   aws.String(msg),
			Timestamp: aws.Int64(awsclient.TimeMillis(rec.Time)),
		})
	}
	return out
}

// message is rec's event message, valid UTF-8 and truncated to the
// largest event CloudWatch takes.
func (o *Output) message(rec logpipe.Record) (string, bool) {
	data, err := o.encoder.Encode(rec)
	if err != nil {
		o.env.Log("cloudwatch_logs: dropping a record of %s: %v", rec.Tag, err)
		return "", false
	}
	if len(data) == 0 {
		return "", false
	}
	msg := strings.ToValidUTF8(string(data), "\uFFFD")
	if len(msg) > maxMessageBytes {
		o.env.Log("cloudwatch_logs: truncating an event of %d bytes from %s to the %d CloudWatch Logs takes", len(msg), rec.Tag, maxMessageBytes)
		msg = truncateUTF8(msg, maxMessageBytes)
	}
	return msg, true
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// splitEvents orders events by time (PutLogEvents refuses others; equal
// times keep the batch order) and cuts them into calls within the
// API's limits.
func splitEvents(events []types.InputLogEvent) [][]types.InputLogEvent {
	slices.SortStableFunc(events, func(a, b types.InputLogEvent) int {
		return cmp.Compare(*a.Timestamp, *b.Timestamp)
	})
	var calls [][]types.InputLogEvent
	start, size := 0, 0
	for i, e := range events {
		n := len(*e.Message) + eventOverhead
		full := i-start == maxEventsPerPut || size+n > maxPutBytes ||
			*e.Timestamp-*events[start].Timestamp >= maxPutSpanMillis
		if i > start && full {
			calls = append(calls, events[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(events) {
		calls = append(calls, events[start:])
	}
	return calls
}
