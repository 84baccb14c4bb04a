// Package podstats turns one pod-node's CPU and memory readings into what
// a kubelet serves about them: the Summary API (/stats/summary), the
// resource metrics that metrics-server scrapes (/metrics/resource) and
// cadvisor's container metrics (/metrics/cadvisor). On Fargate the node is
// the pod's own VM, so the node's figures are the pod sandbox's.
//
// The caller (the kubelet endpoint) reads sandbox.Runtime.Stats, hands
// the reading down here, and writes out what comes back; the metrics are
// produced by the kubelet's and cadvisor's own collectors, so names,
// labels and help texts are theirs.
package podstats

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// Reading is one pod-node's usage at one moment.
type Reading struct {
	// NodeName is the pod-node's name (fargate-ip-...).
	NodeName string
	// Pod is the pod the node runs.
	Pod *corev1.Pod
	// Usage is what sandbox.Runtime.Stats returned for the pod.
	Usage sandbox.PodUsage
	// Err is Stats' error, if it failed: the metrics then carry
	// resource_scrape_error 1 and no usage, as a kubelet's do.
	Err error
	// Previous is an earlier reading of the same pod, if the caller kept
	// one: with it, the Summary has CPU rates (usageNanoCores) as well as
	// the cumulative counters.
	Previous *sandbox.PodUsage
}

// Summary is the kubelet's /stats/summary for the pod-node: the node is
// the pod's sandbox, and its one pod lists its running containers.
func Summary(r Reading) *statsapi.Summary {
	u := r.Usage
	var prevPod *sandbox.Usage
	if r.Previous != nil {
		prevPod = &r.Previous.Usage
	}
	pod := statsapi.PodStats{
		PodRef:    statsapi.PodReference{Name: r.Pod.Name, Namespace: r.Pod.Namespace, UID: string(r.Pod.UID)},
		StartTime: podStartTime(r.Pod, u),
		CPU:       cpuStats(u.Usage, prevPod),
		Memory:    memoryStats(u.Usage),
	}
	for _, c := range u.Containers {
		pod.Containers = append(pod.Containers, statsapi.ContainerStats{
			Name:      c.Name,
			StartTime: metav1.NewTime(c.StartedAt),
			CPU:       cpuStats(c.Usage, previousOf(r.Previous, c.ID)),
			Memory:    memoryStats(c.Usage),
		})
	}
	return &statsapi.Summary{
		Node: statsapi.NodeStats{
			NodeName:  r.NodeName,
			StartTime: metav1.NewTime(u.StartedAt),
			CPU:       cpuStats(u.Usage, prevPod),
			Memory:    memoryStats(u.Usage),
		},
		Pods: []statsapi.PodStats{pod},
	}
}

// podStartTime is the pod's status.startTime, as the kubelet reports it,
// or the sandbox's start when the status has none yet.
func podStartTime(pod *corev1.Pod, u sandbox.PodUsage) metav1.Time {
	if pod.Status.StartTime != nil {
		return *pod.Status.StartTime
	}
	return metav1.NewTime(u.StartedAt)
}

// previousOf finds the earlier reading of the same container attempt.
func previousOf(prev *sandbox.PodUsage, id string) *sandbox.Usage {
	if prev == nil {
		return nil
	}
	for i := range prev.Containers {
		if prev.Containers[i].ID == id {
			return &prev.Containers[i].Usage
		}
	}
	return nil
}

func cpuStats(u sandbox.Usage, prev *sandbox.Usage) *statsapi.CPUStats {
	s := &statsapi.CPUStats{Time: metav1.NewTime(u.At), UsageCoreNanoSeconds: ptr(u.CPUUsageNanoseconds)}
	if prev != nil && u.At.After(prev.At) && u.CPUUsageNanoseconds >= prev.CPUUsageNanoseconds {
		// Nanoseconds of CPU per second of wall time, in nanocores.
		used := float64(u.CPUUsageNanoseconds - prev.CPUUsageNanoseconds)
		s.UsageNanoCores = ptr(uint64(used / u.At.Sub(prev.At).Seconds()))
	}
	return s
}

func memoryStats(u sandbox.Usage) *statsapi.MemoryStats {
	return &statsapi.MemoryStats{
		Time:            metav1.NewTime(u.At),
		UsageBytes:      ptr(u.MemoryUsageBytes),
		WorkingSetBytes: ptr(u.MemoryWorkingSetBytes),
		RSSBytes:        ptr(u.MemoryRSSBytes),
	}
}

func ptr(v uint64) *uint64 { return &v }
