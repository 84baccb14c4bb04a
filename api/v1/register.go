package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Names under which the FargateProfile API is served.
const (
	GroupName = "fargo.dev"
	Version   = "v1"
	Kind      = "FargateProfile"
	ListKind  = "FargateProfileList"
	Plural    = "fargateprofiles"
	Singular  = "fargateprofile"
	ShortName = "fp"

	HostKind     = "Host"
	HostListKind = "HostList"
	HostPlural   = "hosts"
	HostSingular = "host"
)

// SchemeGroupVersion is the group and version of every type in this package.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// Resource returns the group-qualified resource for an unqualified name, as
// client-go listers and API errors expect.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

var (
	// SchemeBuilder collects the functions that register this package's types.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers FargateProfile, Host and their lists in a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&FargateProfile{},
		&FargateProfileList{},
		&Host{},
		&HostList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
