package cloudwatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/awsclient"
)

// streamKey names a log stream.
type streamKey struct{ group, stream string }

func (k streamKey) String() string { return k.group + ":" + k.stream }

// ensureStream makes the stream (and, with auto_create_group, its group)
// exist, once per stream for the output's life: CreateLogStream's
// "already exists" is the answer for a stream made before.
func (o *Output) ensureStream(ctx context.Context, key streamKey) error {
	o.mu.Lock()
	known, groupDone := o.known[key], o.created[key.group]
	o.mu.Unlock()
	if known {
		return nil
	}
	if o.groups.autoCreate && !groupDone {
		if err := o.createGroup(ctx, key.group); err != nil {
			return err
		}
	}
	_, err := o.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName:  aws.String(key.group),
		LogStreamName: aws.String(key.stream),
	})
	var exists *types.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
	case isNotFound(err) && !o.groups.autoCreate:
		return logpipe.Permanent(fmt.Errorf("CreateLogStream %s: log group %q does not exist: create it, or set auto_create_group On: %w", key, key.group, err))
	case isNotFound(err):
		// The group went away after this output made it.
		o.forget(key)
		return fmt.Errorf("CreateLogStream %s: %w", key, err)
	case err != nil:
		return awsclient.Classify(fmt.Sprintf("CreateLogStream %s", key), err)
	}
	o.mu.Lock()
	o.known[key] = true
	o.mu.Unlock()
	return nil
}

// createGroup makes a log group, with log_retention_days on it when this
// output made it (Fluent Bit leaves an existing group's retention alone).
func (o *Output) createGroup(ctx context.Context, group string) error {
	_, err := o.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName:  aws.String(group),
		LogGroupClass: o.groups.class,
	})
	var exists *types.ResourceAlreadyExistsException
	switch {
	case errors.As(err, &exists):
	case err != nil:
		return awsclient.Classify(fmt.Sprintf("CreateLogGroup %q", group), err)
	case o.groups.retentionDays > 0:
		_, err = o.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName:    aws.String(group),
			RetentionInDays: aws.Int32(o.groups.retentionDays),
		})
		if err != nil {
			// The group is made; a retry finds it and would skip the
			// policy, so the policy's failure is only logged.
			o.env.Log("cloudwatch_logs: PutRetentionPolicy %q to %d days: %v", group, o.groups.retentionDays, err)
		}
	}
	o.mu.Lock()
	o.created[group] = true
	o.mu.Unlock()
	return nil
}

// forget drops what the output knew of a stream and its group, after
// CloudWatch said one of them does not exist.
func (o *Output) forget(key streamKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.known, key)
	delete(o.created, key.group)
}
