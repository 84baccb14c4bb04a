package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// microVMFirst makes microVMs the host's default tier, with the OCI tier
// beside it for pods that ask for it.
var microVMFirst = []string{"--tier", "microvm/qemu", "--tier", "oci/runc"}

// requireMicroVM skips, saying why, where QEMU is missing. The guest
// kernel comes from Debian's apt sources the first time.
func requireMicroVM(t *testing.T) {
	t.Helper()
	harness.RequireRoot(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("skipped: qemu-system-x86_64 is not installed (make deps installs qemu-system-x86)")
	}
}

// TestMicroVMPods runs the OCI tier's pod suite with every pod in its own
// microVM (TCG on hosts without usable KVM), then checks what only a VM
// gives, how a pod's tier is chosen, and that nothing is left.
func TestMicroVMPods(t *testing.T) {
	requireMicroVM(t)
	srv := startRunning(t, microVMFirst...)
	runPodSuite(t, srv, "qemu")
	cs := srv.Client(t)
	t.Run("own kernel, processes and mounts", func(t *testing.T) { assertVMIsolation(t, srv, cs) })
	t.Run("a configMap's update reaches the guest", func(t *testing.T) { assertVolumeUpdates(t, srv) })
	t.Run("runtimeClassName, profile tier and host default", func(t *testing.T) { assertTierChoice(t, srv, cs) })
	t.Run("nothing leaks", func(t *testing.T) { assertVMsLeaveNothing(t, srv, cs) })
}

// TestMicroVMServices is TestServices with microVM pods on both ends: a
// Service reached from a microVM pod, microVM pods behind it.
func TestMicroVMServices(t *testing.T) {
	requireMicroVM(t)
	runServiceSuite(t, microVMFirst...)
}

// TestMicroVMKubeletAPI is TestKubeletAPI on microVM pods: logs and their
// rotation, exec (also in a terminal), attach, port-forward, cp, top.
func TestMicroVMKubeletAPI(t *testing.T) {
	requireMicroVM(t)
	runKubeletAPISuite(t, microVMFirst...)
}

// TestMicroVMAgentRestart is TestAgentRestartAdoptsPods on microVM pods:
// the VMs run on while no agent does, and the next one adopts them.
func TestMicroVMAgentRestart(t *testing.T) {
	requireMicroVM(t)
	runAdoption(t, microVMFirst...)
}

func execIn(t *testing.T, srv *harness.Server, pod string, command string) string {
	t.Helper()
	out, err := srv.Kubectl(t, "-n", "study-aews", "exec", pod, "--", "sh", "-c", command)
	if err != nil {
		t.Fatalf("exec in %s: %v\n%s", pod, err, out)
	}
	return out
}

func assertVMIsolation(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	var manifests []string
	for _, name := range []string{"vm-a", "vm-b"} {
		manifests = append(manifests, podManifest(name, "Always", "sleep 3600", ""))
	}
	apply(t, srv, strings.Join(manifests, "---\n"))
	for _, name := range []string{"vm-a", "vm-b"} {
		waitPod(t, cs, name, 2*time.Minute, "ready", func(p *corev1.Pod) error {
			if !podReady(p) {
				return fmt.Errorf("not ready")
			}
			return nil
		})
	}
	hostKernel, _ := exec.Command("uname", "-r").Output()
	hostBoot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	boots := map[string]string{}
	for _, name := range []string{"vm-a", "vm-b"} {
		kernel := strings.TrimSpace(execIn(t, srv, name, "uname -r"))
		if kernel == strings.TrimSpace(string(hostKernel)) || !strings.Contains(kernel, "cloud") {
			t.Errorf("%s runs kernel %q; want the guest's (Debian cloud), not the host's %s", name, kernel, hostKernel)
		}
		boot := strings.TrimSpace(execIn(t, srv, name, "cat /proc/sys/kernel/random/boot_id"))
		if boot == strings.TrimSpace(string(hostBoot)) {
			t.Errorf("%s has the host's boot id", name)
		}
		boots[boot] = name
		ps := execIn(t, srv, name, "ps -o args")
		if strings.Contains(ps, "fargo up") || strings.Contains(ps, "kube-proxy") || strings.Contains(ps, "qemu") {
			t.Errorf("%s sees host processes:\n%s", name, ps)
		}
		if mounts := execIn(t, srv, name, "cat /proc/mounts"); strings.Contains(mounts, srv.DataDir) {
			t.Errorf("%s sees the host's mounts:\n%s", name, mounts)
		}
		// Nor its files: fargo's data dir, or this test's own binary.
		self, _ := os.Executable()
		for _, path := range []string{srv.DataDir, self} {
			if out := execIn(t, srv, name, "test -e "+path+" && echo visible || echo hidden"); strings.TrimSpace(out) != "hidden" {
				t.Errorf("%s sees the host's %s: %s", name, path, out)
			}
		}
	}
	if len(boots) != 2 {
		t.Errorf("the two pods share a boot id: %v", boots)
	}
}

func assertVolumeUpdates(t *testing.T, srv *harness.Server) {
	cm := `apiVersion: v1
kind: ConfigMap
metadata: {name: live, namespace: study-aews}
data: {greeting: %s}
---
`
	apply(t, srv, fmt.Sprintf(cm, "before")+podManifest("watcher", "Always", "sleep 3600", `    volumeMounts:
    - {name: live, mountPath: /live}
  volumes:
  - name: live
    configMap: {name: live}
`))
	testwait.Eventually(t, 2*time.Minute, "the pod reads the first value", func(context.Context) error {
		out, err := srv.Kubectl(t, "-n", "study-aews", "exec", "watcher", "--", "cat", "/live/greeting")
		if err != nil || out != "before" {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	apply(t, srv, fmt.Sprintf(cm, "after"))
	// The host refreshes projected volumes every 30 s, as a kubelet syncs;
	// the guest follows within seconds.
	testwait.Eventually(t, 90*time.Second, "the pod reads the updated value", func(context.Context) error {
		out, err := srv.Kubectl(t, "-n", "study-aews", "exec", "watcher", "--", "cat", "/live/greeting")
		if err != nil || out != "after" {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
}

// tierProfile puts namespace oci-profile's pods in the OCI tier.
const tierProfile = `apiVersion: v1
kind: Namespace
metadata: {name: oci-profile}
---
apiVersion: fargo.dev/v1
kind: FargateProfile
metadata: {name: oci-profile}
spec:
  tier: oci
  selectors:
  - namespace: oci-profile
`

func assertTierChoice(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, tierProfile)
	apply(t, srv, podManifest("by-class", "Always", "sleep 3600", "  runtimeClassName: fargo-oci\n"))
	apply(t, srv, strings.Replace(podManifest("by-profile", "Always", "sleep 3600", ""), "namespace: study-aews", "namespace: oci-profile", 1))
	apply(t, srv, podManifest("by-default", "Always", "sleep 3600", ""))
	apply(t, srv, podManifest("nowhere", "Always", "sleep 3600", "  runtimeClassName: fargo-gvisor\n"))
	for _, c := range []struct{ ns, name, runtime, tier string }{
		{"study-aews", "by-class", "runc", "oci"},
		{"oci-profile", "by-profile", "runc", "oci"},
		{"study-aews", "by-default", "qemu", "microvm"},
	} {
		testwait.Eventually(t, 2*time.Minute, c.name+" runs in "+c.tier, func(ctx context.Context) error {
			p, err := cs.CoreV1().Pods(c.ns).Get(ctx, c.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !podReady(p) || !strings.HasPrefix(p.Status.ContainerStatuses[0].ContainerID, c.runtime+"://") {
				return fmt.Errorf("ready %v, statuses %s", podReady(p), describeStatuses(p.Status.ContainerStatuses))
			}
			node, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if node.Labels["fargo.dev/sandbox-tier"] != c.tier || !strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, c.runtime) {
				return fmt.Errorf("node label %q, runtime %q", node.Labels["fargo.dev/sandbox-tier"], node.Status.NodeInfo.ContainerRuntimeVersion)
			}
			// A microVM pod-node says how its VM runs, as its runtime
			// version does (qemu://7.2.22+tcg); other pod-nodes do not.
			accel := node.Labels["fargo.dev/vm-accel"]
			if (c.tier == "microvm") != (accel == "kvm" || accel == "tcg") ||
				(accel != "" && !strings.HasSuffix(node.Status.NodeInfo.ContainerRuntimeVersion, "+"+accel)) {
				return fmt.Errorf("fargo.dev/vm-accel %q on a %s node with runtime %q", accel, c.tier, node.Status.NodeInfo.ContainerRuntimeVersion)
			}
			return nil
		})
	}
	testwait.Eventually(t, time.Minute, "FailedScheduling for the gvisor pod", func(ctx context.Context) error {
		evs, err := cs.CoreV1().Events("study-aews").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=nowhere"})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Reason == "FailedScheduling" && strings.Contains(e.Message, `offer sandbox tier "gvisor": start a host with --tier oci/runsc`) {
				return nil
			}
		}
		return fmt.Errorf("events: %v", evs.Items)
	})
	// The host shows how each of its tiers runs, and its VMs' accelerator.
	out, err := srv.Kubectl(t, "get", "hosts", "-o", `jsonpath={range .items[0].status.tiers[*]}{.name}={.containerRuntimeVersion} {end}`)
	if err != nil || !regexp.MustCompile(`^microvm/qemu=qemu://[0-9.]+\+(kvm|tcg) oci/runc=runc://`).MatchString(out) {
		t.Errorf("the host's status.tiers: %q %v", out, err)
	}
	if out, err := srv.Kubectl(t, "get", "hosts", "-o", "wide"); err != nil || !regexp.MustCompile(`VM-ACCEL[\s\S]*\s(kvm|tcg)\s`).MatchString(out) {
		t.Errorf("kubectl get hosts -o wide does not show the VMs' accelerator: %v\n%s", err, out)
	}
	for _, rc := range []string{"fargo-oci", "fargo-gvisor", "fargo-microvm"} {
		out, err := srv.Kubectl(t, "get", "runtimeclass", rc, "-o", "jsonpath={.overhead.podFixed.memory} {.scheduling.nodeSelector}")
		if err != nil || !strings.Contains(out, "fargo.dev/sandbox-tier") {
			t.Errorf("RuntimeClass %s: %q %v", rc, out, err)
		}
	}
}

func assertVMsLeaveNothing(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	ctx := context.Background()
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all []gone
	for _, p := range list.Items {
		if p.Spec.NodeName != "" && strings.HasPrefix(p.Spec.NodeName, "fargate-") {
			all = append(all, gone{p.UID, p.Spec.NodeName})
		}
	}
	if len(all) == 0 {
		t.Fatal("no pods to delete: the suite above ran none")
	}
	deleteFargatePods(t, srv)
	agentDir := filepath.Join(srv.DataDir, "agent")
	testwait.Eventually(t, time.Minute, fmt.Sprintf("nothing left of %d pods", len(all)), func(ctx context.Context) error {
		var left []string
		for _, g := range all {
			left = append(left, leftovers(ctx, cs, agentDir, g.uid, g.node)...)
		}
		if out, _ := exec.Command("pgrep", "-f", "qemu-system.*"+agentDir).Output(); len(out) > 0 {
			left = append(left, "qemu "+string(out))
		}
		if len(left) > 0 {
			return fmt.Errorf("%d left:\n%s", len(left), strings.Join(left, "\n"))
		}
		return nil
	})
}
