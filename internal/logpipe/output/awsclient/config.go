package awsclient

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// Settings are the AWS keys every AWS output of Fluent Bit takes.
type Settings struct {
	// Region is the AWS region (region); required.
	Region string
	// Endpoint is the service's base URL (endpoint), "" for the SDK's
	// own resolution from Region.
	Endpoint string
	// RoleARN is a role to assume with STS (role_arn), ExternalID its
	// external ID (external_id) and STSEndpoint the STS base URL
	// (sts_endpoint).
	RoleARN, ExternalID, STSEndpoint string
	// AutoRetry allows the SDK one immediate retry of a failed request
	// (auto_retry_requests, default on); the router's back-off does the
	// rest.
	AutoRetry bool
}

// ReadSettings reads the AWS keys of an output section. name is the
// section's plugin name, for messages.
func ReadSettings(name string, p logpipe.Params) (Settings, error) {
	s := Settings{
		Region:     strings.TrimSpace(p.String("region", "")),
		RoleARN:    strings.TrimSpace(p.String("role_arn", "")),
		ExternalID: strings.TrimSpace(p.String("external_id", "")),
	}
	if s.Region == "" {
		return s, fmt.Errorf("output %q: region is required: add e.g. \"region us-east-1\"", name)
	}
	var err error
	if s.Endpoint, err = endpointURL(p.String("endpoint", "")); err != nil {
		return s, fmt.Errorf("output %q: endpoint: %w", name, err)
	}
	if s.STSEndpoint, err = endpointURL(p.String("sts_endpoint", "")); err != nil {
		return s, fmt.Errorf("output %q: sts_endpoint: %w", name, err)
	}
	if s.AutoRetry, err = p.Bool("auto_retry_requests", true); err != nil {
		return s, fmt.Errorf("output %q: %w", name, err)
	}
	if s.RoleARN != "" && !strings.HasPrefix(s.RoleARN, "arn:") {
		return s, fmt.Errorf("output %q: role_arn %q is not an ARN: write arn:aws:iam::<account>:role/<name>", name, s.RoleARN)
	}
	return s, nil
}

// endpointURL turns an endpoint as Fluent Bit takes it (a host name, a
// host:port, or a URL) into a base URL. A bare host means HTTPS, as in
// Fluent Bit.
func endpointURL(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not a host name or an http(s) URL: write e.g. logs.us-east-1.amazonaws.com or http://127.0.0.1:4566", v)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// maxAttempts is the SDK retryer's limit: the router retries with
// back-off, so the SDK at most retries once at once (auto_retry_requests).
func (s Settings) maxAttempts() int {
	if s.AutoRetry {
		return 2
	}
	return 1
}

// Config builds the aws.Config for a service client: region, the
// credentials of env (or the SDK's default chain when env has none),
// env's HTTP client, the small retry limit, the assumed role when
// role_arn is set, and Endpoint as the base endpoint.
func (s Settings) Config(ctx context.Context, env logpipe.Env) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(s.Region),
		config.WithRetryMaxAttempts(s.maxAttempts()),
	}
	if env.AWSCredentials != nil {
		opts = append(opts, config.WithCredentialsProvider(env.AWSCredentials))
	}
	if env.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(env.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if s.RoleARN != "" {
		cfg.Credentials = aws.NewCredentialsCache(s.assumeRole(cfg))
	}
	// Set after the STS client is made, so that it keeps its own
	// endpoint.
	if s.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(s.Endpoint)
	}
	return cfg, nil
}

// assumeRole returns a provider of role_arn's credentials, fetched with
// the base credentials from STS at sts_endpoint (or the region's).
func (s Settings) assumeRole(cfg aws.Config) aws.CredentialsProvider {
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if s.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(s.STSEndpoint)
		}
	})
	return stscreds.NewAssumeRoleProvider(client, s.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "fargo-log-router"
		if s.ExternalID != "" {
			o.ExternalID = aws.String(s.ExternalID)
		}
	})
}
