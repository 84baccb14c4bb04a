package admission

import (
	"strings"

	"github.com/fargo-dev/fargo/internal/profile"
)

// patchOp is one RFC 6902 operation. Only "add" is used: on an object
// member it creates the member or replaces its value, which is what every
// field here needs, whether the user set it or not.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// member is one map entry to set, kept in a slice so that the patch comes
// out in the same order every time.
type member struct {
	key, value string
}

// podPatch is the patch for a pod the profile takes: its profile label,
// its size and logging annotations, the fargate-scheduler and the
// system-node-critical priority. Parents that are absent or null are added
// whole, because a JSON patch cannot add a member to a missing object.
func podPatch(pod *podView, profileName, size, loggingAnnotation string) []patchOp {
	labels := []member{{profile.LabelFargateProfile, profileName}}
	annotations := []member{
		{profile.AnnotationCapacityProvisioned, size},
		{profile.AnnotationLogging, loggingAnnotation},
	}
	var ops []patchOp
	if pod.Metadata == nil {
		ops = append(ops, add("/metadata", map[string]any{
			"labels":      toMap(labels),
			"annotations": toMap(annotations),
		}))
	} else {
		ops = append(ops, setMembers("/metadata/labels", pod.Metadata.Labels != nil, labels)...)
		ops = append(ops, setMembers("/metadata/annotations", pod.Metadata.Annotations != nil, annotations)...)
	}
	if !pod.hasSpec() {
		return append(ops, add("/spec", map[string]any{
			"schedulerName":     SchedulerName,
			"priorityClassName": PriorityClassName,
			"priority":          Priority,
		}))
	}
	return append(ops,
		add("/spec/schedulerName", SchedulerName),
		add("/spec/priorityClassName", PriorityClassName),
		add("/spec/priority", Priority),
	)
}

// setMembers sets members of the map at path, adding the map when the pod
// has none (absent and null decode alike, and "add" replaces a null).
func setMembers(path string, exists bool, members []member) []patchOp {
	if !exists {
		return []patchOp{add(path, toMap(members))}
	}
	ops := make([]patchOp, len(members))
	for i, m := range members {
		ops[i] = add(path+"/"+escapePointer(m.key), m.value)
	}
	return ops
}

func add(path string, value any) patchOp {
	return patchOp{Op: "add", Path: path, Value: value}
}

func toMap(members []member) map[string]string {
	m := make(map[string]string, len(members))
	for _, kv := range members {
		m[kv.key] = kv.value
	}
	return m
}

// pointerEscaper escapes a key for a JSON pointer (RFC 6901). A Replacer
// makes one pass, so the ~ it writes for a / is not escaped again.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(key string) string {
	return pointerEscaper.Replace(key)
}
