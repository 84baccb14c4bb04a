package hostregistration

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	v1 "github.com/fargo-dev/fargo/api/v1"
	"github.com/fargo-dev/fargo/internal/hostclient"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// TestRun runs the agent on fake clients through a pod's life: register,
// heartbeat, node Ready with its Lease, pod handed to the sandboxes, renewal, a node marked
// Unknown, the pod's deletion, the node's deletion, and a clean stop.
func TestRun(t *testing.T) {
	pod := testPod("web", "uid-web", "10.42.1.5")
	node := testNode(pod, "10.42.1.5", testHost)
	foreign := testNode(testPod("db", "uid-db", "10.42.2.7"), "10.42.2.7", "h2")
	clk := newClock()
	cfg, cs := testConfig(t, clk, node, pod, foreign)
	sb := &fakeSandboxes{}
	cfg.Sandboxes = sb
	cfg.RenewInterval = 20 * time.Millisecond
	baseline := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	defer func() { cancel(); <-done }()

	testwait.Eventually(t, 10*time.Second, "registered, Ready, pod started", func(ctx context.Context) error {
		return firstError(hostRegistered(ctx, cfg.Hosts), leaseRenewedAt(ctx, cs, v1.SystemNamespace, v1.HostLeaseName(testHost), t0),
			nodeReady(ctx, cs, node.Name), leaseRenewedAt(ctx, cs, corev1.NamespaceNodeLease, node.Name, t0), podStarted(sb, "uid-web", node.Name))
	})
	t.Run("leases are renewed", func(t *testing.T) {
		clk.Add(10 * time.Second)
		testwait.Eventually(t, 10*time.Second, "leases renewed", func(ctx context.Context) error {
			return firstError(leaseRenewedAt(ctx, cs, v1.SystemNamespace, v1.HostLeaseName(testHost), clk.Now()),
				leaseRenewedAt(ctx, cs, corev1.NamespaceNodeLease, node.Name, clk.Now()))
		})
	})
	t.Run("a node marked Unknown is made Ready again", func(t *testing.T) {
		n, err := cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n.Status.Conditions {
			n.Status.Conditions[i].Status = corev1.ConditionUnknown
		}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testwait.Eventually(t, 10*time.Second, "node Ready again", func(ctx context.Context) error { return nodeReady(ctx, cs, node.Name) })
	})
	t.Run("a deleted pod is finished", func(t *testing.T) {
		p, err := cs.CoreV1().Pods("game").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.DeletionTimestamp = ptr.To(metav1.NewTime(clk.Now()))
		if _, err := cs.CoreV1().Pods("game").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testwait.Eventually(t, 10*time.Second, "pod deleted", func(ctx context.Context) error {
			if _, err := cs.CoreV1().Pods("game").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("pod still there (%v)", err)
			}
			return nil
		})
	})
	t.Run("a deleted node's lease is no longer renewed", func(t *testing.T) {
		if err := cs.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// A renewal under way when the node went may still land: let one
		// heartbeat pass, then no renewal may follow in the next two.
		nextHeartbeat := func() {
			clk.Add(10 * time.Second)
			testwait.Eventually(t, 10*time.Second, "host lease renewed", func(ctx context.Context) error {
				return leaseRenewedAt(ctx, cs, v1.SystemNamespace, v1.HostLeaseName(testHost), clk.Now())
			})
		}
		nextHeartbeat()
		l := getLease(t, cs, corev1.NamespaceNodeLease, node.Name)
		nextHeartbeat()
		nextHeartbeat()
		if err := leaseRenewedAt(ctx, cs, corev1.NamespaceNodeLease, node.Name, l.Spec.RenewTime.Time); err != nil {
			t.Error(err)
		}
	})
	if _, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, foreign.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("another host's node got a lease (%v)", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	done <- nil // for the deferred receive
	// Goroutines that already signalled their end may take a moment to exit.
	testwait.Eventually(t, 2*time.Second, "no goroutine of Run left", func(context.Context) error {
		if n := runtime.NumGoroutine(); n > baseline {
			return fmt.Errorf("%d goroutines after Run returned, %d before", n, baseline)
		}
		return nil
	})
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func hostRegistered(ctx context.Context, hosts *hostclient.Client) error {
	h, err := hosts.Get(ctx, testHost)
	if err != nil {
		return err
	}
	if h.Status.NodeInfo != testNodeInfo {
		return fmt.Errorf("host nodeInfo %+v", h.Status.NodeInfo)
	}
	return nil
}

func leaseRenewedAt(ctx context.Context, cs *fake.Clientset, ns, name string, at time.Time) error {
	l, err := cs.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if l.Spec.RenewTime == nil || !l.Spec.RenewTime.Time.Equal(at) {
		return fmt.Errorf("lease %s/%s renewed at %v, want %v", ns, name, l.Spec.RenewTime, at)
	}
	return nil
}

func nodeReady(ctx context.Context, cs *fake.Clientset, name string) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if c := findCondition(n.Status.Conditions, corev1.NodeReady); c == nil || c.Status != corev1.ConditionTrue {
		return fmt.Errorf("node %s conditions %+v", name, n.Status.Conditions)
	}
	return nil
}

func podStarted(sb *fakeSandboxes, uid, node string) error {
	if !sb.called("start " + uid + " on " + node) {
		return fmt.Errorf("pod %s not handed to the sandboxes", uid)
	}
	return nil
}

func TestRunFails(t *testing.T) {
	forbidden := func(t *testing.T, cfg *Config) {
		dyn, hosts := newHosts(t)
		dyn.PrependReactor("*", "hosts", func(clienttesting.Action) (bool, k8sruntime.Object, error) {
			return true, nil, apierrors.NewForbidden(hostclient.GVR.GroupResource(), testHost, nil)
		})
		cfg.Hosts = hosts
	}
	tests := []struct {
		name   string
		change func(t *testing.T, cfg *Config)
		want   string
	}{
		{"no name", func(_ *testing.T, cfg *Config) { cfg.Name = "" }, "Name"},
		{"no hosts client", func(_ *testing.T, cfg *Config) { cfg.Hosts = nil }, "Hosts"},
		{"registration refused", forbidden, "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := testConfig(t, newClock())
			tt.change(t, &cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error about %s", err, tt.want)
			}
		})
	}
}
