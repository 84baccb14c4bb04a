package awsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// transientCodes are 4xx error codes that a later try can get past:
// expired credentials are refreshed, a skewed clock is corrected by the
// SDK.
var transientCodes = map[string]bool{
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
	"RequestExpired":        true,
	"RequestTimeTooSkewed":  true,
}

// Classify returns err as the router must see it: throttling, 5xx,
// network and credential-fetching errors as they are (retried with
// back-off), requests the service refused with another 4xx, and requests
// the SDK refused to send, wrapped by logpipe.Permanent. op names the
// call for the message.
func Classify(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", op, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return logpipe.Permanent(err)
	}
	if IsThrottle(err) {
		return err
	}
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) {
		return err
	}
	status := resp.HTTPStatusCode()
	if status >= 400 && status < 500 && !transientCodes[ErrorCode(err)] {
		return logpipe.Permanent(err)
	}
	return err
}

// IsThrottle reports whether err is the service asking to slow down.
func IsThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// ErrorCode is the service's error code in err ("" when it has none).
func ErrorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
