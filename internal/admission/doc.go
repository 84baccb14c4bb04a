// Package admission is fargo's admission webhook: it hands matching pods to
// Fargate and guards the rules of FargateProfiles (spec sections 1 to 4).
//
// NewHandler serves two endpoints; the fargo server wires the TLS listener,
// the caller authentication and the informers behind Sources.
//
//   - MutatePodsPath, for pods CREATE. A pod that a profile takes gets a JSON
//     patch: the fargate-scheduler, the profile label, the
//     CapacityProvisioned and Logging annotations, and the
//     system-node-critical priority. A pod no profile takes is allowed
//     unchanged after one index lookup. A taken pod too large for any
//     Fargate size is denied.
//   - ValidateProfilesPath, for fargateprofiles CREATE, UPDATE and DELETE:
//     the per-object and per-cluster rules of package profile.
//
// Response contract, which FuzzHandler checks on arbitrary input:
//
//   - A body larger than MaxBodyBytes gets a plain-text 413.
//   - A body that does not decode as JSON into an AdmissionReview (a syntax
//     error, or a value of the wrong JSON type anywhere) gets a plain-text
//     400: there is no uid to answer to.
//   - Anything that decodes gets a 200 with an admission.k8s.io/v1
//     AdmissionReview whose response echoes the request uid. A review that
//     is not a usable v1 request (other apiVersion or kind, no request, no
//     uid, an object that is not what the resource says) is denied with
//     code 400; the apiserver never sends one, so only a broken or hostile
//     caller sees that.
//
// The handler never mutates anything but pods, never patches a pod that no
// profile takes, and keeps no state between requests.
package admission
