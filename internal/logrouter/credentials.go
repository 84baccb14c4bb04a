package logrouter

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
)

// Profiles reads FargateProfiles; the router reads a pod's profile for
// its logging credentials.
type Profiles interface {
	Get(ctx context.Context, name string) (*v1.FargateProfile, error)
}

// The keys of a logging credentials Secret: the AWS SDK's environment
// variable names, which users already have in their tooling.
const (
	keyAccessKeyID     = "AWS_ACCESS_KEY_ID"
	keySecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	keySessionToken    = "AWS_SESSION_TOKEN"
)

// credentialsFor returns the AWS credentials a pod's logs are sent with:
// those of the Secret its profile names, read at pod start as the config
// is; nil (the host's AWS SDK default chain) when the profile names none.
func (r *Router) credentialsFor(ctx context.Context, pod *corev1.Pod) (aws.CredentialsProvider, error) {
	name := pod.Labels[profile.LabelFargateProfile]
	if name == "" || r.cfg.Profiles == nil {
		return nil, nil
	}
	p, err := r.cfg.Profiles.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading Fargate profile %s for its logging credentials: %w", name, err)
	}
	secretName := p.Spec.LoggingCredentialsSecret
	if secretName == "" {
		return nil, nil
	}
	secret, err := r.cfg.Client.CoreV1().Secrets(awslogging.Namespace).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s, the logging credentials of Fargate profile %s: %w", awslogging.Namespace, secretName, name, err)
	}
	id, key := string(secret.Data[keyAccessKeyID]), string(secret.Data[keySecretAccessKey])
	if id == "" || key == "" {
		return nil, fmt.Errorf("Secret %s/%s, the logging credentials of Fargate profile %s, needs the keys %s and %s",
			awslogging.Namespace, secretName, name, keyAccessKeyID, keySecretAccessKey)
	}
	return credentials.NewStaticCredentialsProvider(id, key, string(secret.Data[keySessionToken])), nil
}
