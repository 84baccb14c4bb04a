package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsclient"
)

// Output sends records to CloudWatch Logs.
type Output struct {
	client  *cloudwatchlogs.Client
	names   naming
	groups  groupSettings
	encoder awsclient.Encoder
	emf     bool
	env     logpipe.Env

	mu      sync.Mutex
	known   map[streamKey]bool // streams made or found to exist
	created map[string]bool    // groups made or found to exist
}

var _ logpipe.Output = (*Output)(nil)

// New builds the output from a cloudwatch_logs (or cloudwatch) section.
// role_arn is assumed with STS; sts_endpoint sets STS's endpoint;
// metric_namespace and metric_dimensions (EMF metrics Fluent Bit makes
// from its own metrics) are ignored.
func New(p logpipe.Params, env logpipe.Env) (*Output, error) {
	name := p.String("name", "cloudwatch_logs")
	settings, err := awsclient.ReadSettings(name, p)
	if err != nil {
		return nil, err
	}
	o := &Output{env: env, known: map[streamKey]bool{}, created: map[string]bool{}}
	if o.names, err = readNaming(name, p); err != nil {
		return nil, err
	}
	if o.groups, err = readGroupSettings(name, p); err != nil {
		return nil, err
	}
	if o.emf, err = readEMF(name, p); err != nil {
		return nil, err
	}
	// Only log_key: time_key is not a key of this plugin.
	o.encoder = awsclient.Encoder{LogKey: p.String("log_key", "")}
	cfg, err := settings.Config(context.Background(), env)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	o.client = cloudwatchlogs.NewFromConfig(cfg)
	return o, nil
}

// Send delivers batch, one log stream after another, in the order each
// stream first appears in it.
func (o *Output) Send(ctx context.Context, batch []logpipe.Record) error {
	for _, d := range o.destinations(batch) {
		if err := o.sendStream(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// Close releases nothing: the SDK client holds no resources of its own
// beyond idle connections of the shared HTTP client.
func (o *Output) Close() error { return nil }

// sendStream puts one stream's events, batch by batch. A stream deleted
// since it was made is made again once.
func (o *Output) sendStream(ctx context.Context, d *destination) error {
	if err := o.ensureStream(ctx, d.key); err != nil {
		return err
	}
	for _, events := range splitEvents(d.events) {
		err := o.put(ctx, d.key, events)
		if isNotFound(err) {
			o.forget(d.key)
			if err = o.ensureStream(ctx, d.key); err == nil {
				err = o.put(ctx, d.key, events)
			}
		}
		if err != nil {
			return awsclient.Classify(fmt.Sprintf("PutLogEvents to %s", d.key), err)
		}
	}
	return nil
}

// put makes one PutLogEvents call and logs the events CloudWatch
// refused for their time (older than the group's retention or 14 days,
// more than 2 hours ahead), which it accepts the call without.
func (o *Output) put(ctx context.Context, key streamKey, events []types.InputLogEvent) error {
	var opts []func(*cloudwatchlogs.Options)
	if o.emf {
		opts = append(opts, cloudwatchlogs.WithAPIOptions(smithyhttp.AddHeaderValue("x-amzn-logs-format", "json/emf")))
	}
	out, err := o.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(key.group),
		LogStreamName: aws.String(key.stream),
		LogEvents:     events,
	}, opts...)
	if err != nil {
		return err
	}
	if r := out.RejectedLogEventsInfo; r != nil {
		o.env.Log("cloudwatch_logs: %s refused events for their time: too old up to index %d, expired up to %d, too new from %d",
			key, aws.ToInt32(r.TooOldLogEventEndIndex), aws.ToInt32(r.ExpiredLogEventEndIndex), aws.ToInt32(r.TooNewLogEventStartIndex))
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}
