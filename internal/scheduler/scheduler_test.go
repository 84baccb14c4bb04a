package scheduler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/testwait"
)

func TestPlacesPod(t *testing.T) {
	e := newEnvWithHost(t, "4 8Gi 10.0.0.0/24", time.Now())
	e.createPod(testPod("web", withAnnotation(profile.AnnotationLogging, awslogging.AnnotationEnabled)))

	node := e.boundNode("web")
	if want := "fargate-ip-10-0-0-2.us-east-1.compute.internal"; node.Name != want {
		t.Errorf("node %q, want %q (.0 network, .1 gateway)", node.Name, want)
	}
	if node.Labels[podnode.LabelHost] != "h1" || node.Labels[corev1.LabelTopologyZone] != "us-east-1a" {
		t.Errorf("labels %v", node.Labels)
	}
	if got := node.Annotations[podnode.AnnotationPodUID]; got != "uid-web" {
		t.Errorf("pod uid annotation %q", got)
	}
	// Made Ready on a live host, so its agent need not post a status.
	if c := node.Status.Conditions; len(c) != 4 || c[3].Type != corev1.NodeReady || c[3].Status != corev1.ConditionTrue || !c[3].LastHeartbeatTime.Time.Equal(e.now) {
		t.Errorf("conditions %+v, want the four of a ready node as of the scheduler's now %v", c, e.now)
	}
	for _, want := range []string{
		"Normal Scheduled Successfully assigned default/web to " + node.Name,
		"Normal LoggingEnabled Successfully enabled logging for pod",
	} {
		testwait.Eventually(t, waitTimeout, want, func(context.Context) error {
			if e.events.count(want) != 1 {
				return fmt.Errorf("events:\n%s", e.events)
			}
			return nil
		})
	}
}

func TestUnschedulable(t *testing.T) {
	privileged := func(p *corev1.Pod) {
		yes := true
		p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = true, true, true
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		p.Spec.Volumes = []corev1.Volume{{Name: "hostroot", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"unsupported", testPod("priv", privileged),
			"Pod not supported on Fargate: fields not supported: HostNetwork, HostPID, HostIPC, volumes not supported: hostroot is of an unsupported volume Type, invalid SecurityContext fields: Privileged"},
		{"no size", testPod("nosize", func(p *corev1.Pod) { delete(p.Annotations, profile.AnnotationCapacityProvisioned) }),
			"Pod has no CapacityProvisioned annotation: it was not admitted by a Fargate profile"},
		{"bad size", testPod("badsize", withAnnotation(profile.AnnotationCapacityProvisioned, "3vCPU 6GB")),
			`Pod has an invalid CapacityProvisioned annotation: invalid Fargate size "3vCPU 6GB": not a Fargate vCPU/memory combination`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSerialEnv(t, hostsOf("4 8Gi 10.0.0.0/24"), tt.pod, hostLease("h1", time.Now()))
			event := "Warning FailedScheduling " + tt.want
			testwait.Eventually(t, waitTimeout, "condition", func(context.Context) error {
				pod, err := e.cs.CoreV1().Pods(testNS).Get(context.Background(), tt.pod.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if !hasUnschedulable(pod, tt.want) {
					return fmt.Errorf("conditions %+v", pod.Status.Conditions)
				}
				return nil
			})
			testwait.Eventually(t, waitTimeout, "event", func(context.Context) error {
				if e.events.countOn(tt.pod.Name, event) == 0 {
					return fmt.Errorf("events:\n%s", e.events)
				}
				return nil
			})
			// The status update comes back as a pod update: it must not
			// give a second event (no retry storm), nor a node.
			e.fence()
			if n := e.events.countOn(tt.pod.Name, event); n != 1 {
				t.Errorf("%d events, want 1:\n%s", n, e.events)
			}
			if n := e.nodeCount(); n != 0 {
				t.Errorf("%d nodes for an unschedulable pod", n)
			}
		})
	}
}

// TestWaitsForHost: a pod with no usable host gets one timed-out event per
// backoff step, and what may give it room ends its backoff at once (the
// backoff here is 30 s, longer than the test waits).
func TestWaitsForHost(t *testing.T) {
	fresh := time.Now()
	holder := testPod("holder")
	holder.Spec.NodeName = "fargate-ip-10-0-0-2.us-east-1.compute.internal"
	tests := []struct {
		name  string
		host  string // "CPU MEMORY CIDR" of h1, "" for none
		lease time.Time
		objs  []runtime.Object
		fix   func(e *env)
	}{
		{"no host", "", fresh, nil, func(e *env) {
			_, _ = e.hosts.Create(context.Background(), testHost("h1", "a", "4", "8Gi", "10.0.0.0/24"))
		}},
		{"stale lease", "4 8Gi 10.0.0.0/24", fresh.Add(-time.Minute), nil, func(e *env) {
			_, _ = e.cs.CoordinationV1().Leases("fargo-system").Update(context.Background(), hostLease("h1", e.now), metav1.UpdateOptions{})
		}},
		{"full host", "0.1 8Gi 10.0.0.0/24", fresh, nil, func(e *env) {
			_, _ = e.hosts.Update(context.Background(), mustGetHost(e, "4", "8Gi", "10.0.0.0/24"))
		}},
		{"no free IP", "4 8Gi 10.0.0.0/31", fresh, nil, func(e *env) {
			_, _ = e.hosts.Update(context.Background(), mustGetHost(e, "4", "8Gi", "10.0.0.0/24"))
		}},
		{"only IP held by a pod that goes", "4 8Gi 10.0.0.0/30", fresh,
			[]runtime.Object{holder, oldNode(holder, "10.0.0.2")}, func(e *env) {
				_ = e.cs.CoreV1().Pods(testNS).Delete(context.Background(), "holder", metav1.DeleteOptions{})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWithHost(t, tt.host, tt.lease, tt.objs...)
			e.s.queue.mu.Lock()
			e.s.queue.base, e.s.queue.max = 30*time.Second, 30*time.Second
			e.s.queue.mu.Unlock()
			e.createPod(testPod("p"))
			const timedOut = "Warning FailedScheduling Pod provisioning timed out (will retry)"
			testwait.Eventually(t, waitTimeout, "timed-out event", func(context.Context) error {
				if e.events.count(timedOut) != 1 {
					return fmt.Errorf("events:\n%s", e.events)
				}
				return nil
			})
			// The event comes from a decision that found no room, so it
			// made no node.
			held := 0
			for _, o := range tt.objs {
				if _, ok := o.(*corev1.Node); ok {
					held++
				}
			}
			if n := e.nodeCount(); n != held {
				t.Fatalf("%d nodes before the host is usable, want %d", n, held)
			}
			tt.fix(e)
			e.boundNode("p")
			if n := e.events.count(timedOut); n != 1 {
				t.Errorf("%d timed-out events, want 1 (early retries are not backoff steps)", n)
			}
		})
	}
}

// newEnvWithHost starts an env with host h1 of hostsOf(host) and its
// heartbeat renewed at renew.
func newEnvWithHost(t *testing.T, host string, renew time.Time, objs ...runtime.Object) *env {
	t.Helper()
	return newEnv(t, hostsOf(host), append(objs, hostLease("h1", renew))...)
}

// hostsOf is host h1 in us-east-1a described by "CPU MEMORY CIDR", or no
// host for "".
func hostsOf(host string) []*v1.Host {
	if host == "" {
		return nil
	}
	var cpu, mem, cidr string
	fmt.Sscan(host, &cpu, &mem, &cidr)
	return []*v1.Host{testHost("h1", "us-east-1a", cpu, mem, cidr)}
}

// mustGetHost returns h1 with a new allocatable and block.
func mustGetHost(e *env, cpu, mem, cidr string) *v1.Host {
	e.t.Helper()
	h, err := e.hosts.Get(context.Background(), "h1")
	if err != nil {
		e.t.Fatal(err)
	}
	n := testHost("h1", h.Spec.Zone, cpu, mem, cidr)
	n.ResourceVersion = h.ResourceVersion
	return n
}

func TestPlacedEvents(t *testing.T) {
	const node = "fargate-ip-10-0-0-2.us-east-1.compute.internal"
	scheduled := event{corev1.EventTypeNormal, "Scheduled", "Successfully assigned default/p to " + node}
	invalidNow := awslogging.Decision{Annotation: awslogging.AnnotationConfigMapInvalid, EventType: corev1.EventTypeWarning, Reason: "LoggingDisabled", Message: "Disabled logging for pod due to invalid configmap. bad key. Please fix the logging configmap"}
	tests := []struct {
		name       string
		annotation string // "" = none
		current    awslogging.Decision
		want       []event
	}{
		{"no annotation", "", awslogging.Decision{}, []event{scheduled}},
		{"enabled", awslogging.AnnotationEnabled, awslogging.Decision{}, []event{scheduled,
			{corev1.EventTypeNormal, "LoggingEnabled", "Successfully enabled logging for pod"}}},
		{"configmap missing", awslogging.AnnotationConfigMapMissing, awslogging.Decision{}, []event{scheduled,
			{corev1.EventTypeWarning, "LoggingDisabled", `Disabled logging because aws-logging configmap was not found. configmap "aws-logging" not found`}}},
		{"invalid, still invalid", awslogging.AnnotationConfigMapInvalid, invalidNow, []event{scheduled,
			{corev1.EventTypeWarning, "LoggingDisabled", invalidNow.Message}}},
		{"invalid, fixed since", awslogging.AnnotationConfigMapInvalid, awslogging.Decision{Annotation: awslogging.AnnotationEnabled}, []event{scheduled,
			{corev1.EventTypeWarning, "LoggingDisabled", "Disabled logging for pod due to invalid configmap. The aws-logging configmap was invalid when the pod was created. Please fix the logging configmap"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod("p")
			if tt.annotation != "" {
				pod.Annotations[profile.AnnotationLogging] = tt.annotation
			}
			if got := placedEvents(pod, node, tt.current); !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}
