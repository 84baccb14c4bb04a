package v1

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestCRDNames(t *testing.T) {
	crd := CRD()
	checks := []struct{ name, got, want string }{
		{"object name", crd.Name, "fargateprofiles.fargo.dev"},
		{"group", crd.Spec.Group, "fargo.dev"},
		{"kind", crd.Spec.Names.Kind, "FargateProfile"},
		{"list kind", crd.Spec.Names.ListKind, "FargateProfileList"},
		{"plural", crd.Spec.Names.Plural, "fargateprofiles"},
		{"short name", strings.Join(crd.Spec.Names.ShortNames, ","), "fp"},
		{"scope", string(crd.Spec.Scope), "Cluster"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
}

func TestCRDVersion(t *testing.T) {
	crd := CRD()
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("%d versions, want 1", len(crd.Spec.Versions))
	}
	v := crd.Spec.Versions[0]
	if v.Name != "v1" || !v.Served || !v.Storage {
		t.Errorf("version %q served=%v storage=%v", v.Name, v.Served, v.Storage)
	}
	if v.Subresources == nil || v.Subresources.Status == nil {
		t.Errorf("status subresource not enabled")
	}
	var columns []string
	for _, c := range v.AdditionalPrinterColumns {
		if c.Priority == 0 {
			columns = append(columns, c.Name)
		}
	}
	if got := strings.Join(columns, " "); got != "Status Selectors Age" {
		t.Errorf("default columns after NAME = %q", got)
	}
}

// TestCRDSchemaLimits checks that the schema repeats the per-object limits.
func TestCRDSchemaLimits(t *testing.T) {
	root := CRD().Spec.Versions[0].Schema.OpenAPIV3Schema
	spec := root.Properties["spec"]
	selectors := spec.Properties["selectors"]
	selector := selectors.Items.Schema
	tags := spec.Properties["tags"]
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"spec required", root.Required, []string{"spec"}},
		{"selectors required", spec.Required, []string{"selectors"}},
		{"selectors minItems", *selectors.MinItems, int64(1)},
		{"selectors maxItems", *selectors.MaxItems, int64(5)},
		{"namespace required", selector.Required, []string{"namespace"}},
		{"namespace minLength", *selector.Properties["namespace"].MinLength, int64(1)},
		{"labels maxProperties", *selector.Properties["labels"].MaxProperties, int64(5)},
		{"name maxLength", *root.Properties["metadata"].Properties["name"].MaxLength, int64(63)},
		{"tag value maxLength", *tags.AdditionalProperties.Schema.MaxLength, int64(256)},
		{"tag key rule", tags.XValidations[0].Rule, "self.all(k, size(k) >= 1 && size(k) <= 128)"},
		{"name prefix rule", root.XValidations[0].Rule, "!self.metadata.name.startsWith('eks-')"},
		{"status enum", len(root.Properties["status"].Properties["status"].Enum), 5},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

// TestCRDIsJSON makes sure the CRD serialises, as it is applied through the API.
func TestCRDIsJSON(t *testing.T) {
	data, err := json.Marshal(CRD())
	if err != nil {
		t.Fatal(err)
	}
	var back apiextensionsv1.CustomResourceDefinition
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, CRD()) {
		t.Errorf("CRD changed in a JSON round trip")
	}
}

func TestScheme(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []runtime.Object{&FargateProfile{}, &FargateProfileList{}} {
		gvks, _, err := scheme.ObjectKinds(obj)
		if err != nil || len(gvks) != 1 || gvks[0].GroupVersion() != SchemeGroupVersion {
			t.Errorf("%T: kinds %v, err %v", obj, gvks, err)
		}
	}
}

func TestJSONFieldNames(t *testing.T) {
	p := FargateProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: "fargo.dev/v1", Kind: "FargateProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "fp"},
		Spec: FargateProfileSpec{
			Selectors:           []Selector{{Namespace: "ns", Labels: map[string]string{"a": "b"}}},
			Subnets:             []string{"10.10.0.0/20"},
			PodExecutionRoleARN: "arn",
			Tags:                map[string]string{"t": "v"},
			ClusterName:         "c",
		},
		Status: FargateProfileStatus{Status: StateActive, Message: "m"},
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"FargateProfile","apiVersion":"fargo.dev/v1","metadata":{"name":"fp"},` +
		`"spec":{"selectors":[{"namespace":"ns","labels":{"a":"b"}}],"subnets":["10.10.0.0/20"],` +
		`"podExecutionRoleARN":"arn","tags":{"t":"v"},"clusterName":"c"},"status":{"status":"ACTIVE","message":"m"}}`
	if string(data) != want {
		t.Errorf("JSON\n got: %s\nwant: %s", data, want)
	}
}

func TestDeepCopyIsDeep(t *testing.T) {
	p := &FargateProfile{Spec: FargateProfileSpec{
		Selectors: []Selector{{Namespace: "ns", Labels: map[string]string{"a": "b"}}},
		Subnets:   []string{"10.0.0.0/8"},
		Tags:      map[string]string{"t": "v"},
	}}
	c := p.DeepCopyObject().(*FargateProfile)
	c.Spec.Selectors[0].Labels["a"] = "changed"
	c.Spec.Subnets[0] = "changed"
	c.Spec.Tags["t"] = "changed"
	if p.Spec.Selectors[0].Labels["a"] != "b" || p.Spec.Subnets[0] != "10.0.0.0/8" || p.Spec.Tags["t"] != "v" {
		t.Errorf("copy shares memory with the original: %+v", p.Spec)
	}
	list := &FargateProfileList{Items: []FargateProfile{*p}}
	lc := list.DeepCopyObject().(*FargateProfileList)
	lc.Items[0].Spec.Subnets[0] = "changed"
	if list.Items[0].Spec.Subnets[0] != "10.0.0.0/8" {
		t.Errorf("list copy shares memory with the original")
	}
}
