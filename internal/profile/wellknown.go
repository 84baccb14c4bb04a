package profile

// Labels, annotations and values that EKS users and tools already know. Users
// grep for them and dashboards match on them, so they are spelled as on EKS.
const (
	// LabelFargateProfile names the profile that took a pod. Admission sets
	// it; a user who sets it on a pod asks for that profile and no other.
	LabelFargateProfile = "eks.amazonaws.com/fargate-profile"

	// AnnotationComputeType set to ComputeTypeEC2 on a pod keeps it off
	// Fargate. The same key is the label and taint key of fargate nodes,
	// with the value ComputeTypeFargate.
	AnnotationComputeType = "eks.amazonaws.com/compute-type"
	ComputeTypeEC2        = "ec2"
	ComputeTypeFargate    = "fargate"

	// AnnotationCapacityProvisioned holds the size a pod got, e.g. "0.5vCPU 1GB".
	AnnotationCapacityProvisioned = "CapacityProvisioned"

	// AnnotationLogging is "LoggingEnabled" or "LoggingDisabled: <CODE>".
	AnnotationLogging = "Logging"
)

// DefaultMaxProfiles is the number of profiles a cluster may hold unless
// --max-fargate-profiles says otherwise; EKS allows 10.
const DefaultMaxProfiles = 10
