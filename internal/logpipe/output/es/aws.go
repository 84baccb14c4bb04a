package es

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/opensearch-project/opensearch-go/v4/signer"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// awsSigner reads AWS_Auth and its keys (AWS_Region, AWS_Service_Name,
// AWS_Role_ARN, AWS_External_ID, AWS_STS_Endpoint, AWS_Profile) and
// returns opensearch-go's SigV4 signer (the AWS SDK's signer underneath),
// or nil when AWS_Auth is Off.
func awsSigner(p logpipe.Params, env logpipe.Env) (signer.Signer, error) {
	on, err := p.Bool("AWS_Auth", false)
	if err != nil || !on {
		return nil, err
	}
	region := p.String("AWS_Region", "")
	if region == "" {
		return nil, fmt.Errorf("AWS_Auth is On but AWS_Region is not set: write the region of the OpenSearch domain (AWS_Region us-east-1)")
	}
	cfg, err := awsConfig(p, env, region)
	if err != nil {
		return nil, err
	}
	return awsv2.NewSignerWithService(cfg, p.String("AWS_Service_Name", "es"))
}

// awsConfig gives the signer a region and credentials: env's, or the
// SDK's default chain, and the role of AWS_Role_ARN assumed with them.
func awsConfig(p logpipe.Params, env logpipe.Env, region string) (aws.Config, error) {
	var cfg aws.Config
	if env.AWSCredentials != nil {
		cfg = aws.Config{Region: region, Credentials: env.AWSCredentials}
		if env.HTTPClient != nil {
			cfg.HTTPClient = env.HTTPClient
		}
	} else {
		opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
		if env.HTTPClient != nil {
			opts = append(opts, config.WithHTTPClient(env.HTTPClient))
		}
		if profile := p.String("AWS_Profile", ""); profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(profile))
		}
		var err error
		// Loading reads files and the environment only; credentials are
		// fetched when the first request is signed.
		if cfg, err = config.LoadDefaultConfig(context.Background(), opts...); err != nil {
			return cfg, fmt.Errorf("AWS_Auth: loading the AWS SDK's configuration: %w", err)
		}
	}
	if arn := p.String("AWS_Role_ARN", ""); arn != "" {
		endpoint := p.String("AWS_STS_Endpoint", "")
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		})
		externalID := p.String("AWS_External_ID", "")
		cfg.Credentials = stscreds.NewAssumeRoleProvider(client, arn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "fargo-log-router"
			if externalID != "" {
				o.ExternalID = aws.String(externalID)
			}
		})
	}
	// Cache, so each request does not fetch credentials anew.
	if _, cached := cfg.Credentials.(*aws.CredentialsCache); !cached {
		cfg.Credentials = aws.NewCredentialsCache(cfg.Credentials)
	}
	return cfg, nil
}
