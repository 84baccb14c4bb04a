package podenv

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// FieldRef returns the value of a downward API field of pod: metadata.name,
// metadata.namespace, metadata.uid, metadata.labels['k'],
// metadata.annotations['k'], metadata.labels and metadata.annotations (all
// of them as k="v" lines, sorted), spec.nodeName, spec.serviceAccountName,
// status.hostIP(s) and status.podIP(s) (lists joined with commas).
func FieldRef(pod *corev1.Pod, fieldPath string) (string, error) {
	if path, key, ok := splitSubscript(fieldPath); ok {
		return subscriptedField(pod, fieldPath, path, key)
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName", "spec.host":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return first(hostIPs(pod)), nil
	case "status.hostIPs":
		return strings.Join(hostIPs(pod), ","), nil
	case "status.podIP":
		return first(podIPs(pod)), nil
	case "status.podIPs":
		return strings.Join(podIPs(pod), ","), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", fieldPath)
}

func subscriptedField(pod *corev1.Pod, fieldPath, path, key string) (string, error) {
	switch path {
	case "metadata.labels":
		if errs := validation.IsQualifiedName(key); len(errs) != 0 {
			return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
		}
		return pod.Labels[key], nil
	case "metadata.annotations":
		// Annotation keys are case-insensitive in their validation only.
		if errs := validation.IsQualifiedName(strings.ToLower(key)); len(errs) != 0 {
			return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
		}
		return pod.Annotations[key], nil
	}
	return "", fmt.Errorf("fieldPath %q does not support subscript", fieldPath)
}

// splitSubscript splits "metadata.labels['k']" into its path and key.
func splitSubscript(fieldPath string) (path, key string, ok bool) {
	s, found := strings.CutSuffix(fieldPath, "']")
	if !found {
		return "", "", false
	}
	path, key, found = strings.Cut(s, "['")
	if !found || path == "" {
		return "", "", false
	}
	return path, key, true
}

// formatMap writes one k="v" line per entry, sorted by key, with the value
// quoted as Go does, the format downwardAPI volumes show.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, k+"="+strconv.Quote(m[k]))
	}
	return strings.Join(lines, "\n")
}

// hostIPs reads the status; on fargo the host IP is the pod's own node IP.
func hostIPs(pod *corev1.Pod) []string {
	var ips []string
	for _, ip := range pod.Status.HostIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && pod.Status.HostIP != "" {
		ips = []string{pod.Status.HostIP}
	}
	return ips
}

func podIPs(pod *corev1.Pod) []string {
	var ips []string
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = []string{pod.Status.PodIP}
	}
	return ips
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
