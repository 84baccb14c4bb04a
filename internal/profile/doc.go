// Package profile holds the rules of Fargate profiles: which profiles are
// valid (Validate, ValidateCreate, ValidateUpdate, ValidateDelete) and which
// profile takes a pod (Match, Index). It is pure logic: no API calls, no
// clients, no clocks. The admission webhook, the profile controller and the
// eksctl-style CLI call it, so that every path reports the same messages.
//
// The rules and messages follow shared/spec/fargate-behaviour.md, section 1.
package profile
