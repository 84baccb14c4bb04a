package kinesis

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsclient"
)

// PutRecords limits.
const (
	maxRecordsPerCall = 500
	maxBytesPerCall   = 5 << 20
	maxRecordBytes    = 1 << 20
)

// Output sends records to a Kinesis data stream.
type Output struct {
	client        *kinesis.Client
	stream        string
	partitionKey  logpipe.Accessor // nil: random keys
	encoder       awsclient.Encoder
	appendNewline bool
	compression   awsclient.Compression
	env           logpipe.Env
}

var _ logpipe.Output = (*Output)(nil)

// New builds the output from a kinesis section. role_arn is assumed with
// STS at sts_endpoint.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	name := p.String("name", "kinesis")
	settings, err := awsclient.ReadSettings(name, p)
	if err != nil {
		return nil, err
	}
	o := &Output{env: env, stream: strings.TrimSpace(p.String("stream", ""))}
	if o.stream == "" {
		return nil, fmt.Errorf("output %q: stream is required: name the Kinesis data stream", name)
	}
	if o.partitionKey, err = readPartitionKey(p.String("partition_key", "")); err != nil {
		return nil, fmt.Errorf("output %q: partition_key: %w", name, err)
	}
	if o.encoder, err = awsclient.ReadEncoder(name, p); err != nil {
		return nil, err
	}
	if o.appendNewline, err = p.Bool("append_newline", false); err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	if o.compression, err = awsclient.ReadCompression(name, p.String("compression", ""), "gzip", "zlib"); err != nil {
		return nil, err
	}
	cfg, err := settings.Config(context.Background(), env)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	o.client = kinesis.NewFromConfig(cfg)
	return o, nil
}

// Send delivers batch in PutRecords calls.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	b := awsclient.Batch[types.PutRecordsRequestEntry]{
		Op:      "PutRecords to " + o.stream,
		Entries: o.entries(batch),
		Size:    func(e types.PutRecordsRequestEntry) int { return len(e.Data) + len(*e.PartitionKey) },
		Limits:  awsclient.Limits{Entries: maxRecordsPerCall, Bytes: maxBytesPerCall},
		Put:     o.put,
	}
	return b.Deliver(ctx, o.env)
}

// Close releases nothing the SDK client holds.
func (o *Output) Close() error { return nil }

// entries turns a batch into PutRecords entries, dropping (and logging)
// those that cannot be sent.
func (o *Output) entries(batch []logpipe.Record) []types.PutRecordsRequestEntry {
	out := make([]types.PutRecordsRequestEntry, 0, len(batch))
	for _, rec := range batch {
		data, err := o.data(rec)
		if err != nil {
			o.env.Log("kinesis: dropping a record of %s: %v", rec.Tag, err)
			continue
		}
		if len(data) == 0 {
			continue
		}
		key := o.keyOf(rec)
		if len(data)+len(key) > maxRecordBytes {
			o.env.Log("kinesis: dropping a record of %d bytes from %s: Kinesis takes at most %d", len(data), rec.Tag, maxRecordBytes)
			continue
		}
		out = append(out, types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(key)})
	}
	return out
}

func (o *Output) data(rec logpipe.Record) ([]byte, error) {
	data, err := o.encoder.Encode(rec)
	if err != nil || len(data) == 0 {
		return nil, err
	}
	if o.appendNewline {
		data = append(data, '\n')
	}
	return o.compression.Apply(data)
}

// put makes one PutRecords call.
func (o *Output) put(ctx context.Context, entries []types.PutRecordsRequestEntry) ([]int, string, error) {
	out, err := o.client.PutRecords(ctx, &kinesis.PutRecordsInput{
		StreamName: aws.String(o.stream),
		Records:    entries,
	})
	if err != nil {
		return nil, "", err
	}
	if aws.ToInt32(out.FailedRecordCount) == 0 {
		return nil, "", nil
	}
	var failed []int
	reason := ""
	for i, r := range out.Records {
		if r.ErrorCode != nil {
			failed = append(failed, i)
			reason = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
		}
	}
	return failed, reason, nil
}
