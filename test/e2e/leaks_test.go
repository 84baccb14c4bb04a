package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// leftovers lists what is left on this machine of pod uid, whose node
// was node, for an agent with data dir agentDir: the checks of the leak
// test, each a kind of resource a pod gets.
func leftovers(ctx context.Context, cs kubernetes.Interface, agentDir string, uid types.UID, node string) []string {
	var left []string
	id := string(uid)
	if _, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		left = append(left, "node "+node)
	}
	if _, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		left = append(left, "lease "+node)
	}
	left = append(left, processesOf(id)...)
	if mounts, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mounts), "\n") {
			if strings.Contains(line, id) {
				left = append(left, "mount "+line)
			}
		}
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/fargo/pod-" + id)
	v2, _ := filepath.Glob("/sys/fs/cgroup/fargo/pod-" + id)
	for _, c := range append(cgroups, v2...) {
		left = append(left, "cgroup "+c)
	}
	if _, err := os.Stat("/sys/class/net/" + network.HostVethName(id)); err == nil {
		left = append(left, "veth "+network.HostVethName(id))
	}
	dirs := []string{
		filepath.Join(agentDir, "serving", node+".pem"),
		filepath.Join(agentDir, "netns", "fargo-"+id),
		filepath.Join(agentDir, "sandboxes", "pods", id),
		filepath.Join(agentDir, "microvm", "pods", id),
		filepath.Join(agentDir, "pods", id),
		filepath.Join(agentDir, "logrouter", id),
	}
	logs, _ := filepath.Glob("/var/log/pods/*_" + id)
	for _, d := range append(dirs, logs...) {
		if _, err := os.Lstat(d); err == nil {
			left = append(left, "path "+d)
		}
	}
	links, _ := filepath.Glob("/var/log/containers/*.log")
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil && strings.Contains(target, "_"+id+"/") {
			left = append(left, "log link "+l)
		}
	}
	return left
}

// processesOf lists processes in the pod's cgroup or naming it.
func processesOf(id string) []string {
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cgroup, _ := os.ReadFile(p + "/cgroup")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if strings.Contains(string(cgroup), "pod-"+id) || strings.Contains(string(cmdline), id) {
			left = append(left, fmt.Sprintf("process %s %q", filepath.Base(p), strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return left
}

// TestNothingLeaks: 50 pods that ran, created and deleted in waves, and 3
// that finished before they were deleted, leave nothing behind: no node,
// lease, process, mount, cgroup, veth, netns, sandbox or volume directory,
// nor pod logs; the last wave is deleted at once (grace 0).
func TestNothingLeaks(t *testing.T) {
	srv := startRunning(t)
	cs := srv.Client(t)
	ctx := context.Background()
	agentDir := filepath.Join(srv.DataDir, "agent")
	apply(t, srv, studyNamespace+`---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: study-aews}
data: {k: v}
`)
	var all []gone
	for wave := range 5 {
		var manifests []string
		for i := range 10 {
			manifests = append(manifests, podManifest(fmt.Sprintf("leak-%d-%d", wave, i), "Always", "sleep 3600", `    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: cfg
    configMap: {name: cfg}
  - name: scratch
    emptyDir: {medium: Memory}
`))
		}
		apply(t, srv, strings.Join(manifests, "---\n"))
		for i := range 10 {
			p := waitPod(t, cs, fmt.Sprintf("leak-%d-%d", wave, i), 2*time.Minute, "running", func(p *corev1.Pod) error {
				if p.Status.Phase != corev1.PodRunning {
					return fmt.Errorf("not running")
				}
				return nil
			})
			all = append(all, gone{p.UID, p.Spec.NodeName})
			// Through the pod-node's kubelet API, which gives it a
			// serving certificate that must go with it.
			if _, err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/" + p.Spec.NodeName + "/proxy/healthz").DoRaw(ctx); err != nil {
				t.Errorf("kubelet API of %s: %v", p.Spec.NodeName, err)
			}
		}
		if wave < 4 {
			deleteFargatePods(t, srv)
			continue
		}
		// The last wave goes at once (grace 0, as a namespace deletion
		// or kubectl delete --force does): no worker stops these pods,
		// the agent's collection of deleted pods removes them.
		for i := range 10 {
			if err := cs.CoreV1().Pods("study-aews").Delete(ctx, fmt.Sprintf("leak-%d-%d", wave, i), metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all = append(all, finishedPodsGo(t, srv, cs)...)
	testwait.Eventually(t, time.Minute, "nothing left of 53 pods", func(ctx context.Context) error {
		var left []string
		for _, g := range all {
			left = append(left, leftovers(ctx, cs, agentDir, g.uid, g.node)...)
		}
		if len(left) > 0 {
			return fmt.Errorf("%d left:\n%s", len(left), strings.Join(left, "\n"))
		}
		return nil
	})
	_ = ctx
}

// gone is a deleted pod the leak test looks for.
type gone struct {
	uid  types.UID
	node string
}

// finishedPodsGo runs three pods to their end, Succeeded, Failed and
// DeadlineExceeded, as Jobs' pods end, then deletes them: a finished pod's
// object goes at once, with no worker stopping it.
func finishedPodsGo(t *testing.T, srv *harness.Server, cs kubernetes.Interface) []gone {
	pods := map[string]corev1.PodPhase{"done-ok": corev1.PodSucceeded, "done-error": corev1.PodFailed, "done-deadline": corev1.PodFailed}
	apply(t, srv, strings.Join([]string{
		podManifest("done-ok", "Never", "echo finished", ""),
		podManifest("done-error", "Never", "echo failing; exit 3", ""),
		podManifest("done-deadline", "Never", "echo waiting; sleep 3600", "  activeDeadlineSeconds: 5\n"),
	}, "---\n"))
	var out []gone
	for name, phase := range pods {
		p := waitPod(t, cs, name, 2*time.Minute, string(phase), func(p *corev1.Pod) error {
			if p.Status.Phase != phase {
				return fmt.Errorf("phase %s", p.Status.Phase)
			}
			return nil
		})
		if logs, _ := filepath.Glob("/var/log/pods/*_" + string(p.UID)); len(logs) == 0 {
			t.Errorf("%s: no log directory while the pod exists", name)
		}
		out = append(out, gone{p.UID, p.Spec.NodeName})
		if err := cs.CoreV1().Pods("study-aews").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestAgentRestartAdoptsPods: kill -9 of `fargo up` with 5 running pods,
// then a start on the same data dir: the same containers run on, with
// restartCount 0, and their logs go on growing; a pod that had finished
// is not run again.
func TestAgentRestartAdoptsPods(t *testing.T) { runAdoption(t) }

// runAdoption is TestAgentRestartAdoptsPods on a cluster started with
// extra flags (another sandbox tier).
func runAdoption(t *testing.T, extra ...string) {
	srv := startRunning(t, extra...)
	cs := srv.Client(t)
	apply(t, srv, studyNamespace)
	ticker := `i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done`
	var before []*corev1.Pod
	for i := range 5 {
		apply(t, srv, podManifest(fmt.Sprintf("ticker-%d", i), "Always", ticker, ""))
	}
	for i := range 5 {
		before = append(before, waitPod(t, cs, fmt.Sprintf("ticker-%d", i), 2*time.Minute, "ready", func(p *corev1.Pod) error {
			if !podReady(p) {
				return fmt.Errorf("not ready")
			}
			return nil
		}))
	}
	apply(t, srv, podManifest("once", "Never", "echo once", ""))
	once := waitPod(t, cs, "once", 2*time.Minute, "Succeeded", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("not done")
		}
		return nil
	})
	srv.Kill()
	logged := map[string]int{}
	for _, p := range before {
		logged[p.Name] = strings.Count(readLog(p, "c", 0), "\n")
	}
	srv.Start(t)
	// Cleanups run last first: this one before the second Start's kill,
	// so the pods (and their logs) go before the cluster does.
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	cs = srv.Client(t)
	for _, old := range before {
		p := waitPod(t, cs, old.Name, 2*time.Minute, "ready again", func(p *corev1.Pod) error {
			if !podReady(p) {
				return fmt.Errorf("not ready")
			}
			return nil
		})
		was, now := old.Status.ContainerStatuses[0], p.Status.ContainerStatuses[0]
		if now.ContainerID != was.ContainerID || now.RestartCount != 0 || !now.State.Running.StartedAt.Equal(&was.State.Running.StartedAt) {
			t.Errorf("%s: container %s (restarts %d, started %v), want %s started %v with no restart", p.Name,
				now.ContainerID, now.RestartCount, now.State.Running.StartedAt, was.ContainerID, was.State.Running.StartedAt)
		}
		testwait.Eventually(t, 10*time.Second, p.Name+"'s log goes on", func(context.Context) error {
			if n := strings.Count(readLog(p, "c", 0), "\n"); n <= logged[p.Name]+5 {
				return fmt.Errorf("%d lines, %d at the kill", n, logged[p.Name])
			}
			return nil
		})
	}
	// A pod made after the restart runs to its end. "once"'s worker began
	// with the agent, before this pod existed, and a wrong restart of it
	// would be a part of this pod's way (set up, start the container,
	// report): by now it would show.
	apply(t, srv, podManifest("after", "Never", "echo after", ""))
	waitPod(t, cs, "after", 2*time.Minute, "Succeeded", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("not done")
		}
		return nil
	})
	p, err := cs.CoreV1().Pods("study-aews").Get(context.Background(), "once", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != corev1.PodSucceeded || strings.Count(readLog(once, "c", 0), "once") != 1 {
		t.Errorf("finished pod after the restart: phase %s, log %q", p.Status.Phase, readLog(once, "c", 0))
	}
	if left := processesOf(string(once.UID)); len(left) > 0 {
		t.Errorf("finished pod runs again: %v", left)
	}
}
