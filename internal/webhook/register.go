package webhook

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Names of the webhook configurations fargo owns.
const (
	MutatingConfigName   = "fargo-pod-admission"
	ValidatingConfigName = "fargo-profile-validation"
)

// Endpoints are the URLs of fargo's two admission handlers.
type Endpoints struct {
	MutatePods       string
	ValidateProfiles string
	// ValidateLogging checks the aws-logging ConfigMap at apply time.
	ValidateLogging string
	CABundle        []byte
	// ProfileGroup is the API group of FargateProfiles.
	ProfileGroup string
}

// Register creates or replaces fargo's webhook configurations.
//
// Pod mutation fails open (failurePolicy Ignore, short timeout), as on EKS:
// with fargo's admission down, pods are still created, just not on Fargate.
// Profile validation fails closed: an invalid profile must never be stored.
func Register(ctx context.Context, cs kubernetes.Interface, e Endpoints) error {
	none := admissionregistrationv1.SideEffectClassNone
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: MutatingConfigName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "pods.fargo.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &e.MutatePods, CABundle: e.CABundle},
			Rules:                   []admissionregistrationv1.RuleWithOperations{rule(admissionregistrationv1.Create, "", "v1", "pods")},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			SideEffects:             &none,
			TimeoutSeconds:          ptr.To[int32](2),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionregistrationv1.NeverReinvocationPolicy),
		}},
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: ValidatingConfigName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "fargateprofiles.fargo.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &e.ValidateProfiles, CABundle: e.CABundle},
			Rules: []admissionregistrationv1.RuleWithOperations{rule(admissionregistrationv1.OperationAll,
				e.ProfileGroup, "*", "fargateprofiles")},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             &none,
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
		}, loggingWebhook(e)},
	}
	if err := apply(ctx, cs.AdmissionregistrationV1().MutatingWebhookConfigurations(), mutating); err != nil {
		return fmt.Errorf("registering pod admission: %w", err)
	}
	if err := apply(ctx, cs.AdmissionregistrationV1().ValidatingWebhookConfigurations(), validating); err != nil {
		return fmt.Errorf("registering profile validation: %w", err)
	}
	return nil
}

func rule(op admissionregistrationv1.OperationType, group, version, resource string) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{op},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{version},
			Resources: []string{resource}, Scope: ptr.To(admissionregistrationv1.AllScopes)},
	}
}

// configClient is what Register needs of either webhook configuration client.
type configClient[T interface {
	*admissionregistrationv1.MutatingWebhookConfiguration | *admissionregistrationv1.ValidatingWebhookConfiguration
	metav1.Object
}] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// apply creates want, or replaces the stored object's content with it.
func apply[T interface {
	*admissionregistrationv1.MutatingWebhookConfiguration | *admissionregistrationv1.ValidatingWebhookConfiguration
	metav1.Object
}](ctx context.Context, c configClient[T], want T) error {
	have, err := c.Get(ctx, want.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	want.SetResourceVersion(have.GetResourceVersion())
	_, err = c.Update(ctx, want, metav1.UpdateOptions{})
	return err
}

// loggingWebhook sends the aws-logging ConfigMap of a namespace labelled
// aws-observability: enabled, and nothing else, to ValidateLogging. It
// fails open: with fargo's server down, a ConfigMap is stored as it would
// be on a cluster without fargo, and pods then get LoggingDisabled with
// the reason.
func loggingWebhook(e Endpoints) admissionregistrationv1.ValidatingWebhook {
	none := admissionregistrationv1.SideEffectClassNone
	return admissionregistrationv1.ValidatingWebhook{
		Name:         "aws-logging.fargo.dev",
		ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &e.ValidateLogging, CABundle: e.CABundle},
		Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
				Resources: []string{"configmaps"}, Scope: ptr.To(admissionregistrationv1.NamespacedScope)},
		}},
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"aws-observability": "enabled"}},
		MatchConditions: []admissionregistrationv1.MatchCondition{{
			Name:       "aws-logging-only",
			Expression: `object.metadata.name == "aws-logging"`,
		}},
		FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
		SideEffects:             &none,
		TimeoutSeconds:          ptr.To[int32](5),
		AdmissionReviewVersions: []string{"v1"},
	}
}
