package metricsapi

import (
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
)

// The functions here make metrics-server's generated OpenAPI definitions
// findable by the names Kubernetes 1.36 looks models up by, the types'
// OpenAPIModelName (io.k8s.metrics...), where metrics-server v0.8.0's
// generated code keys them by Go path (k8s.io/metrics/...). Without this
// its apiserver refuses to start ("cannot find model definition").

// withModelNames wraps a definitions function.
func withModelNames(get common.GetOpenAPIDefinitions) common.GetOpenAPIDefinitions {
	return func(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
		return addModelNames(get(ref))
	}
}

// addModelNames returns defs with each definition also under its model name.
func addModelNames(defs map[string]common.OpenAPIDefinition) map[string]common.OpenAPIDefinition {
	if defs == nil {
		return nil
	}
	out := make(map[string]common.OpenAPIDefinition, 2*len(defs))
	for name, def := range defs {
		out[name] = def
		out[util.ToRESTFriendlyName(name)] = def
	}
	return out
}
