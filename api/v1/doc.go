// Package v1 holds the FargateProfile API of fargo, group fargo.dev, version v1.
//
// A FargateProfile says which pods run serverless: a pod whose namespace and
// labels match one of the profile's selectors is taken by fargo's admission
// webhook and placed on its own sandbox and node. Profiles are cluster-scoped
// custom resources served by the embedded kube-apiserver; CRD returns their
// definition. The authoritative validation rules, with the messages users see,
// live in internal/profile; the CRD schema repeats the per-field checks so that
// the apiserver rejects malformed objects even when the webhook is down.
//
// +k8s:deepcopy-gen=package
// +groupName=fargo.dev
package v1
