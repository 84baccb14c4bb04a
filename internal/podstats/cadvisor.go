package podstats

import (
	"net/http"
	"time"

	"github.com/google/cadvisor/container"
	info "github.com/google/cadvisor/info/v1"
	v2 "github.com/google/cadvisor/info/v2"
	cadvisormetrics "github.com/google/cadvisor/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	kubelettypes "k8s.io/kubelet/pkg/types"
	"k8s.io/utils/clock"

	"github.com/fargo-dev/fargo/internal/sandbox"
)

// cadvisorFamilies are the cadvisor metrics a Reading has data for. The
// collector would also emit the rest (cache, swap, user/system CPU, ...)
// as zeros, which Prometheus users would take for real readings.
var cadvisorFamilies = map[string]bool{
	"container_cpu_usage_seconds_total":  true,
	"container_memory_usage_bytes":       true,
	"container_memory_working_set_bytes": true,
	"container_memory_rss":               true,
	"container_start_time_seconds":       true,
	"container_last_seen":                true,
	"container_scrape_error":             true,
}

// CadvisorMetrics serves the kubelet's /metrics/cadvisor for one reading,
// with cadvisor's collector and the kubelet's label set (container, pod,
// namespace, id, image, name): the node's root cgroup "/", the pod's
// cgroup and each running container's. Cgroup ids follow the kubelet's
// cgroupfs layout (/kubepods/pod<uid>/<container id>), as on a Fargate
// node, so that dashboards written for EKS select them.
func CadvisorMetrics(r Reading) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(cadvisormetrics.NewPrometheusCollector(cadvisorSource(r), containerLabels,
		container.MetricSet{container.CpuUsageMetrics: struct{}{}, container.MemoryUsageMetrics: struct{}{}},
		clock.RealClock{}, v2.RequestOptions{}))
	gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		all, err := reg.Gather()
		var kept []*dto.MetricFamily
		for _, f := range all {
			if cadvisorFamilies[f.GetName()] {
				kept = append(kept, f)
			}
		}
		return kept, err
	})
	return promhttp.HandlerFor(gather, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// containerLabels are the labels the kubelet gives cadvisor's metrics.
func containerLabels(c *info.ContainerInfo) map[string]string {
	var name string
	if len(c.Aliases) > 0 {
		name = c.Aliases[0]
	}
	return map[string]string{
		cadvisormetrics.LabelID:    c.Name,
		cadvisormetrics.LabelName:  name,
		cadvisormetrics.LabelImage: c.Spec.Image,
		"container":                c.Spec.Labels[kubelettypes.KubernetesContainerNameLabel],
		"pod":                      c.Spec.Labels[kubelettypes.KubernetesPodNameLabel],
		"namespace":                c.Spec.Labels[kubelettypes.KubernetesPodNamespaceLabel],
	}
}

// cadvisorSource is a reading as cadvisor's info provider.
type cadvisorSource Reading

func (s cadvisorSource) GetVersionInfo() (*info.VersionInfo, error) { return &info.VersionInfo{}, nil }
func (s cadvisorSource) GetMachineInfo() (*info.MachineInfo, error) { return &info.MachineInfo{}, nil }

// GetRequestedContainersInfo lists the node's root, the pod and its
// running containers, keyed by cgroup id as cadvisor keys them.
func (s cadvisorSource) GetRequestedContainersInfo(string, v2.RequestOptions) (map[string]*info.ContainerInfo, error) {
	if s.Err != nil {
		return nil, s.Err
	}
	u, pod := s.Usage, s.Pod
	podLabels := map[string]string{
		kubelettypes.KubernetesPodNameLabel:      pod.Name,
		kubelettypes.KubernetesPodNamespaceLabel: pod.Namespace,
	}
	podID := "/kubepods/pod" + string(pod.UID)
	out := map[string]*info.ContainerInfo{
		"/":   cadvisorInfo("/", "", u.StartedAt, nil, "", u.Usage),
		podID: cadvisorInfo(podID, "", u.StartedAt, podLabels, "", u.Usage),
	}
	for _, c := range u.Containers {
		labels := map[string]string{kubelettypes.KubernetesContainerNameLabel: c.Name}
		for k, v := range podLabels {
			labels[k] = v
		}
		id := podID + "/" + c.ID
		out[id] = cadvisorInfo(id, c.ID, c.StartedAt, labels, imageOf(pod, c.Name), c.Usage)
	}
	return out, nil
}

func cadvisorInfo(id, alias string, created time.Time, labels map[string]string, image string, u sandbox.Usage) *info.ContainerInfo {
	ci := &info.ContainerInfo{
		ContainerReference: info.ContainerReference{Name: id},
		Spec: info.ContainerSpec{
			CreationTime: created, Labels: labels, Image: image,
			HasCpu: true, HasMemory: true,
		},
		Stats: []*info.ContainerStats{{
			Timestamp: u.At,
			Cpu:       info.CpuStats{Usage: info.CpuUsage{Total: u.CPUUsageNanoseconds}},
			Memory: info.MemoryStats{
				Usage: u.MemoryUsageBytes, WorkingSet: u.MemoryWorkingSetBytes, RSS: u.MemoryRSSBytes,
			},
		}},
	}
	if alias != "" {
		ci.Aliases = []string{alias}
	}
	return ci
}

// imageOf is the container's image as its status reports it (what the
// runtime resolved), else as its spec names it.
func imageOf(pod *corev1.Pod, name string) string {
	for _, st := range pod.Status.ContainerStatuses {
		if st.Name == name && st.Image != "" {
			return st.Image
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return c.Image
		}
	}
	return ""
}
