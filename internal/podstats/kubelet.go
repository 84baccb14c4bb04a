package podstats

import (
	"net/http"

	corev1 "k8s.io/api/core/v1"
	compbasemetrics "k8s.io/component-base/metrics"
	kubeletmetrics "k8s.io/kubernetes/pkg/kubelet/metrics"
)

// KubeletMetrics serves a pod-node's /metrics: the kubelet's own gauges
// for what its one pod shows (kubelet_node_name, kubelet_running_pods,
// kubelet_running_containers by state), read from the pod's status at
// each scrape. Operation latencies, which the host's agent does not
// track per pod-node, are not exported.
func KubeletMetrics(node string, pod *corev1.Pod) http.Handler {
	nodeName := gaugeVec(kubeletmetrics.NodeNameKey, "The node's name. The count is always 1.", kubeletmetrics.NodeLabelKey)
	runningPods := gaugeVec(kubeletmetrics.RunningPodsKey, "Number of pods that have a running pod sandbox")
	containers := gaugeVec(kubeletmetrics.RunningContainersKey, "Number of containers currently running", "container_state")
	reg := compbasemetrics.NewKubeRegistry()
	reg.MustRegister(nodeName, runningPods, containers)

	nodeName.WithLabelValues(node).Set(1)
	sandbox := 0.0
	if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		sandbox = 1
	}
	runningPods.WithLabelValues().Set(sandbox)
	running, exited := containerStates(pod)
	containers.WithLabelValues("running").Set(float64(running))
	containers.WithLabelValues("exited").Set(float64(exited))
	return compbasemetrics.HandlerFor(reg, compbasemetrics.HandlerOpts{ErrorHandling: compbasemetrics.ContinueOnError})
}

func gaugeVec(name, help string, labels ...string) *compbasemetrics.GaugeVec {
	return compbasemetrics.NewGaugeVec(&compbasemetrics.GaugeOpts{
		Subsystem:      kubeletmetrics.KubeletSubsystem,
		Name:           name,
		Help:           help,
		StabilityLevel: compbasemetrics.ALPHA,
	}, labels)
}

// containerStates counts the pod's running and exited containers, init
// and ephemeral ones included, as the kubelet's runtime lists them.
func containerStates(pod *corev1.Pod) (running, exited int) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			switch {
			case st.State.Running != nil:
				running++
			case st.State.Terminated != nil:
				exited++
			}
		}
	}
	return running, exited
}
