package kubeletapi

import (
	"net/http"

	"github.com/fargo-dev/fargo/internal/podstats"
)

// reading reads the pod-node's pod's usage. A failed read is still a
// reading: the metrics endpoints report it as a scrape error, as a
// kubelet's do.
func (s *server) reading(w http.ResponseWriter, r *http.Request) (podstats.Reading, bool) {
	node, pod, ok := s.thisPod(r)
	if !ok {
		http.Error(w, "no pod-node at this address", http.StatusNotFound)
		return podstats.Reading{}, false
	}
	u, err := s.cfg.Runtime.Stats(r.Context(), string(pod.UID))
	return podstats.Reading{NodeName: node, Pod: pod, Usage: u, Err: err}, true
}

// statsSummary answers /stats/summary with the Summary API.
func (s *server) statsSummary(w http.ResponseWriter, r *http.Request) {
	reading, ok := s.reading(w, r)
	if !ok {
		return
	}
	if reading.Err != nil {
		http.Error(w, "reading the pod's stats: "+reading.Err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, podstats.Summary(reading))
}

// resourceMetrics answers /metrics/resource, what metrics-server scrapes.
func (s *server) resourceMetrics(w http.ResponseWriter, r *http.Request) {
	if reading, ok := s.reading(w, r); ok {
		podstats.ResourceMetrics(reading).ServeHTTP(w, r)
	}
}

// cadvisorMetrics answers /metrics/cadvisor with cadvisor's names.
func (s *server) cadvisorMetrics(w http.ResponseWriter, r *http.Request) {
	if reading, ok := s.reading(w, r); ok {
		podstats.CadvisorMetrics(reading).ServeHTTP(w, r)
	}
}

// kubeletMetrics answers /metrics with the kubelet's gauges for the
// pod-node's pod.
func (s *server) kubeletMetrics(w http.ResponseWriter, r *http.Request) {
	node, pod, ok := s.thisPod(r)
	if !ok {
		http.Error(w, "no pod-node at this address", http.StatusNotFound)
		return
	}
	podstats.KubeletMetrics(node, pod).ServeHTTP(w, r)
}
