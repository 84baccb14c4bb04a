package firehose

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsclient"
)

// PutRecordBatch limits.
const (
	maxRecordsPerCall = 500
	maxBytesPerCall   = 4 << 20
	maxRecordBytes    = 1000 << 10
)

// Output sends records to a Firehose delivery stream.
type Output struct {
	client      *firehose.Client
	stream      string
	encoder     awsclient.Encoder
	compression awsclient.Compression
	env         logpipe.Env
}

var _ logpipe.Output = (*Output)(nil)

// New builds the output from a kinesis_firehose (or firehose) section.
// role_arn is assumed with STS at sts_endpoint.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	name := p.String("name", "kinesis_firehose")
	settings, err := awsclient.ReadSettings(name, p)
	if err != nil {
		return nil, err
	}
	o := &Output{env: env, stream: strings.TrimSpace(p.String("delivery_stream", ""))}
	if o.stream == "" {
		return nil, fmt.Errorf("output %q: delivery_stream is required: name the Firehose delivery stream", name)
	}
	if o.encoder, err = awsclient.ReadEncoder(name, p); err != nil {
		return nil, err
	}
	// Fluent Bit also has arrow, built only with Apache Arrow, and zstd.
	if o.compression, err = awsclient.ReadCompression(name, p.String("compression", ""), "gzip"); err != nil {
		return nil, err
	}
	cfg, err := settings.Config(context.Background(), env)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	o.client = firehose.NewFromConfig(cfg)
	return o, nil
}

// Send delivers batch in PutRecordBatch calls.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	b := awsclient.Batch[types.Record]{
		Op:      "PutRecordBatch to " + o.stream,
		Entries: o.records(batch),
		Size:    func(r types.Record) int { return len(r.Data) },
		Limits:  awsclient.Limits{Entries: maxRecordsPerCall, Bytes: maxBytesPerCall},
		Put:     o.put,
	}
	return b.Deliver(ctx, o.env)
}

// Close releases nothing the SDK client holds.
func (o *Output) Close() error { return nil }

// records turns a batch into Firehose records, dropping (and logging)
// those that cannot be sent.
func (o *Output) records(batch []logpipe.Record) []types.Record {
	out := make([]types.Record, 0, len(batch))
	for _, rec := range batch {
		data, err := o.encoder.Encode(rec)
		if err != nil {
			o.env.Log("kinesis_firehose: dropping a record of %s: %v", rec.Tag, err)
			continue
		}
		if len(data) == 0 {
			continue
		}
		data, err = o.compression.Apply(append(data, '\n'))
		if err != nil {
			o.env.Log("kinesis_firehose: dropping a record of %s: %v", rec.Tag, err)
			continue
		}
		if len(data) > maxRecordBytes {
			o.env.Log("kinesis_firehose: dropping a record of %d bytes from %s: Firehose takes at most %d", len(data), rec.Tag, maxRecordBytes)
			continue
		}
		out = append(out, types.Record{Data: data})
	}
	return out
}

// put makes one PutRecordBatch call.
func (o *Output) put(ctx context.Context, records []types.Record) ([]int, string, error) {
	out, err := o.client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
		DeliveryStreamName: aws.String(o.stream),
		Records:            records,
	})
	if err != nil {
		return nil, "", err
	}
	if aws.ToInt32(out.FailedPutCount) == 0 {
		return nil, "", nil
	}
	var failed []int
	reason := ""
	for i, r := range out.RequestResponses {
		if r.ErrorCode != nil {
			failed = append(failed, i)
			reason = aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage)
		}
	}
	return failed, reason, nil
}
