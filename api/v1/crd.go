package v1

import (
	"strconv"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Limits of a profile that the CRD schema enforces. internal/profile enforces
// the same limits with messages that name the profile and the fix; the schema
// repeats them so that malformed profiles are refused even without the webhook.
const (
	MaxNameLength        = 63
	MaxSelectors         = 5
	MaxLabelsPerSelector = 5
	MaxTagKeyLength      = 128
	MaxTagValueLength    = 256
	// NamePrefixReserved is the prefix EKS keeps for its own profiles.
	NamePrefixReserved = "eks-"
)

// ImmutableMessage is shown when an update changes a profile's spec. The
// schema's transition rule and internal/profile.ValidateUpdate both use it.
const ImmutableMessage = "Fargate profiles are immutable: create a new profile and delete the old one"

// CRD returns the CustomResourceDefinition that serves FargateProfiles:
// cluster-scoped, one version with a structural schema, the status
// subresource (so that users cannot write status and the controller cannot
// write spec) and columns for `kubectl get fargateprofiles`.
func CRD() *apiextensionsv1.CustomResourceDefinition {
	return clusterScoped(apiextensionsv1.CustomResourceDefinitionNames{
		Plural:     Plural,
		Singular:   Singular,
		Kind:       Kind,
		ListKind:   ListKind,
		ShortNames: []string{ShortName},
		Categories: []string{"fargo"},
	}, profileSchema(), printerColumns())
}

// clusterScoped is a CRD of group fargo.dev: cluster-scoped, one version
// (Version) with schema, the status subresource and columns.
func clusterScoped(names apiextensionsv1.CustomResourceDefinitionNames, schema *apiextensionsv1.JSONSchemaProps,
	columns []apiextensionsv1.CustomResourceColumnDefinition) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{
			APIVersion: apiextensionsv1.SchemeGroupVersion.String(),
			Kind:       "CustomResourceDefinition",
		},
		ObjectMeta: metav1.ObjectMeta{Name: names.Plural + "." + GroupName},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: GroupName,
			Names: names,
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name:                     Version,
				Served:                   true,
				Storage:                  true,
				Schema:                   &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: schema},
				Subresources:             &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: columns,
			}},
		},
	}
}

// printerColumns are the columns after NAME. SELECTORS prints the whole
// selector list as JSON: a jsonPath like .spec.selectors[*].namespace would
// only show the first selector, which hides the others.
func printerColumns() []apiextensionsv1.CustomResourceColumnDefinition {
	return []apiextensionsv1.CustomResourceColumnDefinition{
		{Name: "Status", Type: "string", JSONPath: ".status.status", Description: "Lifecycle state of the profile"},
		{Name: "Selectors", Type: "string", JSONPath: ".spec.selectors", Description: "Namespaces and labels of the pods the profile takes"},
		{Name: "Subnets", Type: "string", JSONPath: ".spec.subnets", Priority: 1, Description: "CIDR ranges the profile's pods get their IP from"},
		{Name: "Pod-Execution-Role-ARN", Type: "string", JSONPath: ".spec.podExecutionRoleARN", Priority: 1},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}
}

func profileSchema() *apiextensionsv1.JSONSchemaProps {
	return &apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: "FargateProfile says which pods run serverless.",
		Required:    []string{"spec"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"apiVersion": {Type: "string"},
			"kind":       {Type: "string"},
			// Only name and generateName may be restricted at the root.
			"metadata": {
				Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"name": {Type: "string", MinLength: int64Ptr(1), MaxLength: int64Ptr(MaxNameLength)},
				},
			},
			"spec":   specSchema(),
			"status": statusSchema(),
		},
		XValidations: apiextensionsv1.ValidationRules{{
			Rule:              "!self.metadata.name.startsWith('" + NamePrefixReserved + "')",
			MessageExpression: `'fargate profile "' + self.metadata.name + '": name must not start with "` + NamePrefixReserved + `"'`,
		}},
	}
}

// maxSubnetLength is loose (an IPv6 CIDR fits, so that it gets
// internal/profile's "private range" message rather than "too long"); it exists
// to bound the cost of the CEL immutability rule.
const maxSubnetLength = 64

func specSchema() apiextensionsv1.JSONSchemaProps {
	return apiextensionsv1.JSONSchemaProps{
		Type:     "object",
		Required: []string{"selectors"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"selectors": {
				Type:        "array",
				Description: "A pod matches the profile when it matches any selector.",
				MinItems:    int64Ptr(1),
				MaxItems:    int64Ptr(MaxSelectors),
				Items:       &apiextensionsv1.JSONSchemaPropsOrArray{Schema: selectorSchema()},
			},
			"subnets": {
				Type:        "array",
				Description: "CIDR ranges in private address space; empty means the host's pod range.",
				Items:       &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string", MinLength: int64Ptr(1), MaxLength: int64Ptr(maxSubnetLength)}},
			},
			"podExecutionRoleARN": {Type: "string", Description: "Stored and shown, not interpreted."},
			"tags":                tagsSchema(),
			"clusterName":         {Type: "string", Description: "The eksctl --cluster value; informational."},
			"loggingCredentialsSecret": {
				Type:        "string",
				Description: "Secret in aws-observability with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN for the log router's AWS outputs; empty for the host's AWS SDK default chain.",
				MaxLength:   int64Ptr(253),
				Pattern:     `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`,
			},
			"tier": {
				Type:        "string",
				Description: "Sandbox tier of the profile's pods: oci, gvisor or microvm; empty for the host's default.",
				Enum:        []apiextensionsv1.JSON{{Raw: []byte(`"oci"`)}, {Raw: []byte(`"gvisor"`)}, {Raw: []byte(`"microvm"`)}},
			},
		},
		XValidations: apiextensionsv1.ValidationRules{{
			Rule:    "self == oldSelf",
			Message: ImmutableMessage,
		}},
	}
}

func selectorSchema() *apiextensionsv1.JSONSchemaProps {
	return &apiextensionsv1.JSONSchemaProps{
		Type:     "object",
		Required: []string{"namespace"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"namespace": {
				Type:        "string",
				Description: "Namespace the pod must be in; * and ? are wildcards.",
				MinLength:   int64Ptr(1),
			},
			"labels": {
				Type:                 "object",
				Description:          "Labels the pod must all carry; * and ? are wildcards in keys and values.",
				MaxProperties:        int64Ptr(MaxLabelsPerSelector),
				AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}},
			},
		},
	}
}

// tagsSchema bounds values with maxLength; OpenAPI has no propertyNames in a
// structural schema, so the key length is a CEL rule.
func tagsSchema() apiextensionsv1.JSONSchemaProps {
	return apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: "Tags of the profile; not copied to pods.",
		AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextensionsv1.JSONSchemaProps{
			Type:      "string",
			MaxLength: int64Ptr(MaxTagValueLength),
		}},
		XValidations: apiextensionsv1.ValidationRules{{
			Rule:    "self.all(k, size(k) >= 1 && size(k) <= " + strconv.Itoa(MaxTagKeyLength) + ")",
			Message: "tag keys must be 1 to " + strconv.Itoa(MaxTagKeyLength) + " characters",
		}},
	}
}

func statusSchema() apiextensionsv1.JSONSchemaProps {
	return apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"status": {
				Type: "string",
				Enum: []apiextensionsv1.JSON{
					jsonString(StateCreating), jsonString(StateActive), jsonString(StateDeleting),
					jsonString(StateCreateFailed), jsonString(StateDeleteFailed),
				},
			},
			"message": {Type: "string", Description: "Why the profile failed to be created or deleted."},
		},
	}
}

func jsonString(s ProfileState) apiextensionsv1.JSON {
	return apiextensionsv1.JSON{Raw: []byte(`"` + string(s) + `"`)}
}

func int64Ptr(n int) *int64 {
	v := int64(n)
	return &v
}
