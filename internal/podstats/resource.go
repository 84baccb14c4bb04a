package podstats

import (
	"context"
	"net/http"

	compbasemetrics "k8s.io/component-base/metrics"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/kubernetes/pkg/kubelet/metrics/collectors"
	"k8s.io/kubernetes/pkg/kubelet/server/stats"
)

// ResourceMetrics serves the kubelet's /metrics/resource for one reading:
// node, pod and container CPU and working set, container start times and
// resource_scrape_error, in whichever Prometheus format the client asks
// for. It is the kubelet's own collector, fed with Summary(r).
func ResourceMetrics(r Reading) http.Handler {
	reg := compbasemetrics.NewKubeRegistry()
	reg.CustomMustRegister(collectors.NewResourceMetricsCollector(summaryOf(r)))
	return compbasemetrics.HandlerFor(reg, compbasemetrics.HandlerOpts{ErrorHandling: compbasemetrics.ContinueOnError})
}

// summaryOf is a reading as the kubelet's stats.SummaryProvider, the
// input of its resource metrics collector.
type summaryOf Reading

var _ stats.SummaryProvider = summaryOf{}

func (s summaryOf) Get(ctx context.Context, updateStats bool) (*statsapi.Summary, error) {
	if s.Err != nil {
		return nil, s.Err
	}
	return Summary(Reading(s)), nil
}

func (s summaryOf) GetCPUAndMemoryStats(ctx context.Context) (*statsapi.Summary, error) {
	return s.Get(ctx, false)
}
