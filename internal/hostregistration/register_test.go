package hostregistration

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
)

func TestRegister(t *testing.T) {
	serverCondition := metav1.Condition{Type: v1.HostReady, Status: metav1.ConditionTrue, Reason: v1.HostReasonHeartbeat,
		LastTransitionTime: metav1.NewTime(t0)}
	oldSpec := *testSpec.DeepCopy()
	oldSpec.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("6Gi")}
	oldSpec.Tiers = []string{TierQEMU}
	host := func(spec v1.HostSpec, info corev1.NodeSystemInfo, tiers ...v1.HostTierStatus) *v1.Host {
		return &v1.Host{ObjectMeta: metav1.ObjectMeta{Name: testHost}, Spec: spec,
			Status: v1.HostStatus{NodeInfo: info, Tiers: tiers, Conditions: []metav1.Condition{serverCondition}}}
	}
	kvm := slices.Clone(testTierStatus)
	kvm[0].VMAccel, kvm[0].ContainerRuntimeVersion = "kvm", "qemu://7.2.22+kvm"
	tests := []struct {
		name       string
		existing   []*v1.Host
		wantWrites []string // verb/subresource of the writes to hosts
		wantConds  int      // server conditions that must survive
	}{
		{name: "creates a new host", wantWrites: []string{"create/", "update/status"}},
		{name: "updates the spec of an existing host and keeps its conditions", existing: []*v1.Host{host(oldSpec, corev1.NodeSystemInfo{})},
			wantWrites: []string{"update/", "update/status"}, wantConds: 1},
		{name: "writes nodeInfo that changed", existing: []*v1.Host{host(testSpec, corev1.NodeSystemInfo{KubeletVersion: "v1.35.0-fargo"})},
			wantWrites: []string{"update/status"}, wantConds: 1},
		{name: "writes how its tiers run when that changed", existing: []*v1.Host{host(testSpec, testNodeInfo, kvm...)},
			wantWrites: []string{"update/status"}, wantConds: 1},
		{name: "leaves an up-to-date host alone", existing: []*v1.Host{host(testSpec, testNodeInfo, testTierStatus...)}, wantConds: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn, hosts := newHosts(t, tt.existing...)
			cfg, _ := testConfig(t, newClock())
			cfg.Hosts = hosts
			if err := register(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			if got := hostWrites(dyn.Actions()); !reflect.DeepEqual(got, tt.wantWrites) {
				t.Errorf("writes %v, want %v", got, tt.wantWrites)
			}
			h, err := hosts.Get(context.Background(), testHost)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(h.Spec, testSpec) {
				t.Errorf("spec %+v, want %+v", h.Spec, testSpec)
			}
			if h.Status.NodeInfo != testNodeInfo {
				t.Errorf("nodeInfo %+v, want %+v", h.Status.NodeInfo, testNodeInfo)
			}
			if !reflect.DeepEqual(h.Status.Tiers, testTierStatus) {
				t.Errorf("tiers %+v, want %+v", h.Status.Tiers, testTierStatus)
			}
			if len(h.Status.Conditions) != tt.wantConds {
				t.Errorf("conditions %v, want %d of the server's", h.Status.Conditions, tt.wantConds)
			}
		})
	}
}

func hostWrites(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range writes(actions) {
		out = append(out, a.GetVerb()+"/"+a.GetSubresource())
	}
	return out
}

func TestRegisterRefused(t *testing.T) {
	gr := hostclient.GVR.GroupResource()
	tests := []struct {
		name string
		verb string
		err  error
		want string
	}{
		{"forbidden names the credentials", "get", apierrors.NewForbidden(gr, testHost, nil), "credentials"},
		{"unauthorized names the credentials", "get", apierrors.NewUnauthorized("token expired"), "credentials"},
		{"missing resource asks for a fargo server", "create", apierrors.NewNotFound(gr, ""), "is this a fargo server?"},
		{"invalid spec", "create", apierrors.NewInvalid(v1.SchemeGroupVersion.WithKind(v1.HostKind).GroupKind(), testHost, nil), "rejected the Host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn, hosts := newHosts(t)
			dyn.PrependReactor(tt.verb, "hosts", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, tt.err })
			cfg, _ := testConfig(t, newClock())
			cfg.Hosts = hosts
			err := register(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), testHost) {
				t.Fatalf("got %v, want an error about %q naming host %s", err, tt.want, testHost)
			}
		})
	}
}

func TestRegisterRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int32 // transient failures before the apiserver answers
		timeout  time.Duration
		wantErr  bool
	}{
		{name: "registers after transient errors", failures: 2, timeout: 10 * time.Second},
		{name: "gives up when ctx ends", failures: 1 << 30, timeout: 100 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn, hosts := newHosts(t)
			var calls atomic.Int32
			dyn.PrependReactor("get", "hosts", func(clienttesting.Action) (bool, runtime.Object, error) {
				if calls.Add(1) <= tt.failures {
					return true, nil, apierrors.NewInternalError(context.DeadlineExceeded)
				}
				return false, nil, nil
			})
			cfg, _ := testConfig(t, newClock())
			cfg.Hosts, cfg.RenewInterval = hosts, 10*time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			err := register(ctx, cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error: %v", err, tt.wantErr)
			}
			_, getErr := hosts.Get(context.Background(), testHost)
			if created := getErr == nil; created == tt.wantErr {
				t.Errorf("host created: %v, want %v", created, !tt.wantErr)
			}
		})
	}
}
