package metricsapi

import (
	"testing"

	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	openapibuilder3 "k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/util"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"sigs.k8s.io/metrics-server/pkg/api"
	generatedopenapi "sigs.k8s.io/metrics-server/pkg/api/generated/openapi"
)

// TestOpenAPIModelsFound: metrics-server's apiserver builds the models of
// its resources under the names Kubernetes 1.36 looks them up by.
func TestOpenAPIModelsFound(t *testing.T) {
	// As metrics-server makes its config, then as newServer amends it.
	cfg := genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme))
	cfg.GetDefinitions, cfg.Definitions = withModelNames(cfg.GetDefinitions), addModelNames(cfg.Definitions)
	names := []string{
		util.GetCanonicalTypeName(&metricsv1beta1.NodeMetrics{}),
		util.GetCanonicalTypeName(&metricsv1beta1.PodMetricsList{}),
	}
	if _, err := openapibuilder3.BuildOpenAPIDefinitionsForResources(cfg, names...); err != nil {
		t.Fatalf("models of %v: %v", names, err)
	}
}
