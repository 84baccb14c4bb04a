package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FargateProfile says which pods run serverless. Its name (metadata.name) is the
// profile name shown in the eks.amazonaws.com/fargate-profile label of the pods it
// takes. The spec is immutable once created: changing a profile means creating a
// new one and deleting the old one, as on EKS.
type FargateProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FargateProfileSpec   `json:"spec"`
	Status FargateProfileStatus `json:"status,omitempty"`
}

// FargateProfileSpec is what a profile selects and how its pods are placed.
type FargateProfileSpec struct {
	// Selectors pick pods: a pod matches the profile when it matches any
	// selector. One to five selectors.
	Selectors []Selector `json:"selectors"`

	// Subnets are the CIDR ranges the pods of this profile get their IP from,
	// private ranges only. Empty means the host's pod range.
	// +optional
	Subnets []string `json:"subnets,omitempty"`

	// PodExecutionRoleARN is stored and shown, never interpreted.
	// +optional
	PodExecutionRoleARN string `json:"podExecutionRoleARN,omitempty"`

	// Tags label the profile itself; they are not copied to pods.
	// +optional
	Tags map[string]string `json:"tags,omitempty"`

	// Tier is the kind of sandbox the profile's pods run in: "oci",
	// "gvisor" or "microvm". Empty means the host's default; a pod's
	// runtimeClassName (fargo-<tier>) overrides it. fargo only.
	// +optional
	Tier string `json:"tier,omitempty"`

	// LoggingCredentialsSecret names a Secret in the aws-observability
	// namespace holding the AWS credentials the log router sends this
	// profile's pods' logs with (keys AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN): what the pod
	// execution role grants on EKS. Empty means the host's AWS SDK default
	// chain. fargo only.
	// +optional
	LoggingCredentialsSecret string `json:"loggingCredentialsSecret,omitempty"`

	// ClusterName is the eksctl --cluster value the profile was created with.
	// Informational: fargo serves one cluster per control plane.
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
}

// Selector matches pods by namespace and labels. Namespace, label keys and
// label values may contain the wildcards * (zero or more characters) and ?
// (exactly one character).
type Selector struct {
	// Namespace the pod must be in. Required.
	Namespace string `json:"namespace"`

	// Labels the pod must all carry, at most five pairs.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// ProfileState is the lifecycle state of a profile, spelled as EKS spells it.
type ProfileState string

// The states of a profile. Only ACTIVE profiles take new pods.
const (
	StateCreating     ProfileState = "CREATING"
	StateActive       ProfileState = "ACTIVE"
	StateDeleting     ProfileState = "DELETING"
	StateCreateFailed ProfileState = "CREATE_FAILED"
	StateDeleteFailed ProfileState = "DELETE_FAILED"
)

// FargateProfileStatus is written by fargo's profile controller, never by users.
type FargateProfileStatus struct {
	// Status is the lifecycle state. Empty until the controller first sees the
	// profile, which it treats as CREATING.
	// +optional
	Status ProfileState `json:"status,omitempty"`

	// Message explains a CREATE_FAILED or DELETE_FAILED state.
	// +optional
	Message string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FargateProfileList is a list of FargateProfiles.
type FargateProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FargateProfile `json:"items"`
}
