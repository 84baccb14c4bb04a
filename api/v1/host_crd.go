package v1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// HostCRD returns the CustomResourceDefinition that serves Hosts:
// cluster-scoped, with the status subresource (the agent writes spec and
// status.nodeInfo, the server writes conditions) and columns for
// `kubectl get hosts`. `fargo get hosts` adds what a host has in use.
func HostCRD() *apiextensionsv1.CustomResourceDefinition {
	return clusterScoped(apiextensionsv1.CustomResourceDefinitionNames{
		Plural:     HostPlural,
		Singular:   HostSingular,
		Kind:       HostKind,
		ListKind:   HostListKind,
		Categories: []string{"fargo"},
	}, hostSchema(), []apiextensionsv1.CustomResourceColumnDefinition{
		{Name: "Ready", Type: "string", JSONPath: `.status.conditions[?(@.type=="Ready")].status`},
		{Name: "Zone", Type: "string", JSONPath: ".spec.zone"},
		{Name: "CPU", Type: "string", JSONPath: ".spec.allocatable.cpu"},
		{Name: "Memory", Type: "string", JSONPath: ".spec.allocatable.memory"},
		{Name: "Pod-CIDRs", Type: "string", JSONPath: ".spec.podCIDRs"},
		{Name: "Tiers", Type: "string", JSONPath: ".spec.tiers", Priority: 1},
		{Name: "VM-Accel", Type: "string", JSONPath: ".status.tiers[?(@.vmAccel)].vmAccel", Priority: 1},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	})
}

func hostSchema() *apiextensionsv1.JSONSchemaProps {
	quantity := apiextensionsv1.JSONSchemaProps{
		XIntOrString: true,
		AnyOf:        []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}},
		Pattern:      `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`,
	}
	strings := func(min int64) apiextensionsv1.JSONSchemaProps {
		return apiextensionsv1.JSONSchemaProps{
			Type:     "array",
			MinItems: &min,
			Items:    &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string", MinLength: int64Ptr(1)}},
		}
	}
	preserved := true
	return &apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: "Host is a machine whose agent runs the sandboxes of Fargate pods.",
		Required:    []string{"spec"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"apiVersion": {Type: "string"},
			"kind":       {Type: "string"},
			"metadata":   {Type: "object"},
			"spec": {
				Type:     "object",
				Required: []string{"zone", "allocatable", "podCIDRs", "tiers"},
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"zone": {Type: "string", MinLength: int64Ptr(1)},
					"allocatable": {
						Type:                 "object",
						Required:             []string{"cpu", "memory"},
						AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &quantity},
					},
					"podCIDRs": strings(1),
					"tiers":    strings(1),
					"address":  {Type: "string"},
				},
			},
			"status": {
				Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"nodeInfo": {Type: "object", XPreserveUnknownFields: &preserved},
					"tiers": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
						Type:     "object",
						Required: []string{"name", "containerRuntimeVersion"},
						Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"name":                    {Type: "string", MinLength: int64Ptr(1)},
							"containerRuntimeVersion": {Type: "string"},
							"vmAccel":                 {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"kvm"`)}, {Raw: []byte(`"tcg"`)}}},
						},
					}}},
					"conditions": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserved}}},
				},
			},
		},
	}
}
