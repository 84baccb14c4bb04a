package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/internal/host"
	"github.com/fargo-dev/fargo/internal/podnode"
	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// startRunning is startUp with the seed images imported, for tests whose
// pods really run; it deletes every Fargate pod before the cluster stops,
// so no sandbox outlives the test.
func startRunning(t *testing.T, extra ...string) *harness.Server {
	t.Helper()
	srv := startUp(t, "8", "16Gi", extra...)
	srv.ImportImages(t, harness.SeedTarball(t))
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	return srv
}

// deleteFargatePods deletes every pod of the fargate-scheduler with a grace
// period of 1 s, and the workloads that would make them again, and waits
// until they are gone.
func deleteFargatePods(t *testing.T, srv *harness.Server) {
	t.Helper()
	if !srv.Running() {
		return
	}
	cs := srv.Client(t)
	ctx := context.Background()
	deleteWorkloads(ctx, t, cs)
	selector := fields.OneTermEqualSelector("spec.schedulerName", podnode.SchedulerName).String()
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		t.Errorf("listing pods to delete: %v", err)
		return
	}
	for _, p := range list.Items {
		err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](1)})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	testwait.Eventually(t, 3*time.Minute, "every Fargate pod gone", func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			return err
		}
		var left []string
		for _, p := range list.Items {
			left = append(left, p.Namespace+"/"+p.Name)
		}
		if len(left) > 0 {
			return fmt.Errorf("pods left: %s", strings.Join(left, ", "))
		}
		return nil
	})
}

// deleteWorkloads deletes the Deployments, ReplicaSets, StatefulSets and
// Jobs of the namespaces tests make.
func deleteWorkloads(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	all := metav1.ListOptions{}
	del := metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}
	nss, err := cs.CoreV1().Namespaces().List(ctx, all)
	if err != nil {
		t.Errorf("listing namespaces: %v", err)
		return
	}
	for _, ns := range nss.Items {
		if strings.HasPrefix(ns.Name, "kube-") || ns.Name == "fargo-system" {
			continue
		}
		apps, batch := cs.AppsV1(), cs.BatchV1()
		errs := []error{
			apps.Deployments(ns.Name).DeleteCollection(ctx, del, all),
			apps.ReplicaSets(ns.Name).DeleteCollection(ctx, del, all),
			apps.StatefulSets(ns.Name).DeleteCollection(ctx, del, all),
			batch.Jobs(ns.Name).DeleteCollection(ctx, del, all),
		}
		for _, err := range errs {
			if err != nil {
				t.Errorf("deleting the workloads of %s: %v", ns.Name, err)
			}
		}
	}
}

// podManifest is a one-container pod in study-aews running command.
func podManifest(name, restartPolicy string, command string, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: study-aews
spec:
  restartPolicy: %s
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", %q]
%s`, name, restartPolicy, command, extra)
}

const studyNamespace = `apiVersion: v1
kind: Namespace
metadata:
  name: study-aews
`

// waitPod waits until cond holds for pod name in study-aews.
func waitPod(t *testing.T, cs kubernetes.Interface, name string, timeout time.Duration, what string, cond func(*corev1.Pod) error) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	testwait.Eventually(t, timeout, name+": "+what, func(ctx context.Context) error {
		p, err := cs.CoreV1().Pods("study-aews").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod = p
		if err := cond(p); err != nil {
			return fmt.Errorf("%w; status: phase %s, containers %s", err, p.Status.Phase, describeStatuses(p.Status.ContainerStatuses))
		}
		return nil
	})
	return pod
}

func describeStatuses(statuses []corev1.ContainerStatus) string {
	var parts []string
	for _, s := range statuses {
		state := "?"
		switch {
		case s.State.Waiting != nil:
			state = "waiting " + s.State.Waiting.Reason + ": " + s.State.Waiting.Message
		case s.State.Running != nil:
			state = "running"
		case s.State.Terminated != nil:
			state = fmt.Sprintf("terminated %s (%d)", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
		}
		parts = append(parts, fmt.Sprintf("%s: %s, ready %v, restarts %d", s.Name, state, s.Ready, s.RestartCount))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readLog returns the CRI log of container c's attempt n of pod p.
func readLog(p *corev1.Pod, c string, n int) string {
	b, _ := os.ReadFile(filepath.Join("/var/log/pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID), c, fmt.Sprintf("%d.log", n)))
	return string(b)
}

// TestPodsRun walks issue 5's end-to-end list on `fargo up`: the seed
// netshoot Deployment runs and is Ready; a Job completes and its TTL
// removes pod and node; a server pod answers on its IP with a configMap's
// content; volumes of every kind are readable; a failing command backs
// off; a readiness probe gates Ready; a memory hog is OOM-killed. It
// runs on the default tier: crun where it is installed, else runc.
func TestPodsRun(t *testing.T) {
	srv := startRunning(t)
	runPodSuite(t, srv, strings.TrimPrefix(host.DefaultOCITier(exec.LookPath), "oci/"))
}

// runPodSuite is every tier's pod suite; runtime is the prefix of the
// tier's container IDs.
func runPodSuite(t *testing.T, srv *harness.Server, runtime string) {
	cs := srv.Client(t)
	apply(t, srv, studyNamespace)

	t.Run("netshoot deployment runs", func(t *testing.T) { assertNetshootRuns(t, srv, cs, runtime) })
	t.Run("job completes and goes with its ttl", func(t *testing.T) { assertJobCompletes(t, srv, cs) })
	t.Run("server answers on its pod IP", func(t *testing.T) { assertServerAnswers(t, srv, cs) })
	t.Run("volumes and env are readable", func(t *testing.T) { assertVolumesReadable(t, srv, cs) })
	t.Run("crash loop backs off", func(t *testing.T) { assertCrashLoop(t, srv, cs) })
	t.Run("readiness probe gates ready", func(t *testing.T) { assertReadinessGates(t, srv, cs) })
	t.Run("memory hog is OOM-killed", func(t *testing.T) { assertOOMKilled(t, srv, cs) })
}

func assertNetshootRuns(t *testing.T, srv *harness.Server, cs kubernetes.Interface, runtime string) {
	apply(t, srv, strings.Replace(seedNetshoot, "replicas: 1", "replicas: 2", 1))
	testwait.Eventually(t, 2*time.Minute, "2 netshoot pods Running and Ready", func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods("study-aews").List(ctx, metav1.ListOptions{LabelSelector: "app=netshoot"})
		if err != nil {
			return err
		}
		ready := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && podReady(&p) {
				ready++
			}
		}
		if ready != 2 {
			return fmt.Errorf("%d of %d ready", ready, len(list.Items))
		}
		for _, p := range list.Items {
			s := p.Status.ContainerStatuses[0]
			if s.State.Running == nil || s.RestartCount != 0 || !strings.HasPrefix(s.ContainerID, runtime+"://") ||
				!strings.Contains(s.ImageID, "@sha256:") || !ptr.Deref(s.Started, false) {
				return fmt.Errorf("pod %s container status %+v", p.Name, s)
			}
			if p.Status.PodIP != p.Status.HostIP || p.Status.StartTime == nil {
				return fmt.Errorf("pod %s: podIP %s hostIP %s", p.Name, p.Status.PodIP, p.Status.HostIP)
			}
		}
		return nil
	})
}

const seedJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: busybox-ttl
  namespace: study-aews
spec:
  ttlSecondsAfterFinished: 5
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: busybox
        image: busybox
        command: ["sh", "-c", "echo started; sleep 2; echo done"]
`

func assertJobCompletes(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, seedJob)
	var pod corev1.Pod
	testwait.Eventually(t, 2*time.Minute, "the job's pod Succeeded", func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods("study-aews").List(ctx, metav1.ListOptions{LabelSelector: "job-name=busybox-ttl"})
		if err != nil || len(list.Items) != 1 {
			return fmt.Errorf("%v pods, err %v", len(list.Items), err)
		}
		pod = list.Items[0]
		if pod.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("phase %s %s", pod.Status.Phase, describeStatuses(pod.Status.ContainerStatuses))
		}
		term := pod.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
			return fmt.Errorf("terminated state %+v", term)
		}
		return nil
	})
	if log := readLog(&pod, "busybox", 0); !strings.Contains(log, " stdout F started\n") || !strings.Contains(log, " stdout F done\n") {
		t.Errorf("CRI log of the job's pod:\n%s", log)
	}
	if out, err := srv.Kubectl(t, "get", "pod", "-n", "study-aews", pod.Name); err != nil || !strings.Contains(out, "Completed") {
		t.Errorf("kubectl get pod does not show Completed: %v\n%s", err, out)
	}
	testwait.Eventually(t, 2*time.Minute, "the ttl removes the job, its pod and its node", func(ctx context.Context) error {
		if _, err := cs.CoreV1().Pods("study-aews").Get(ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("pod still there: %v", err)
		}
		if _, err := cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("node %s still there: %v", pod.Spec.NodeName, err)
		}
		return nil
	})
}

func assertServerAnswers(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, `apiVersion: v1
kind: ConfigMap
metadata:
  name: site
  namespace: study-aews
data:
  index.html: "hello from fargo\n"
---
`+podManifest("web", "Always", "httpd -f -p 8080 -h /www", `    volumeMounts:
    - name: site
      mountPath: /www
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
  volumes:
  - name: site
    configMap: {name: site}
`))
	pod := waitPod(t, cs, "web", 2*time.Minute, "Ready", func(p *corev1.Pod) error {
		if !podReady(p) {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	resp, err := http.Get("http://" + pod.Status.PodIP + ":8080/index.html")
	if err != nil {
		t.Fatalf("GET from the host: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello from fargo\n" {
		t.Errorf("GET http://%s:8080/index.html: %d %q", pod.Status.PodIP, resp.StatusCode, body)
	}
}

func assertVolumesReadable(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	script := `cat /etc/cfg/greeting; cat /etc/sec/password; echo; ` +
		`cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; ` +
		`test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo token-ok; ` +
		`grep -q "BEGIN CERTIFICATE" /var/run/secrets/kubernetes.io/serviceaccount/ca.crt && echo ca-ok; ` +
		`echo "pod=$MY_POD ip=$MY_IP greeting=$GREETING"; cat /etc/resolv.conf; ` +
		`echo "nofile=$(ulimit -n) hostname=$(hostname)"`
	apply(t, srv, `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: study-aews}
data: {greeting: "hi there\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: study-aews}
stringData: {password: s3cret}
---
`+podManifest("reader", "Never", script, `    env:
    - name: MY_POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MY_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
  volumes:
  - name: cfg
    configMap: {name: cfg}
  - name: sec
    secret: {secretName: sec}
`))
	pod := waitPod(t, cs, "reader", 2*time.Minute, "Succeeded", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("not done")
		}
		return nil
	})
	log := readLog(pod, "c", 0)
	for _, want := range []string{
		"stdout F hi there\n", "stdout F s3cret\n", "stdout F study-aews\n", "stdout F token-ok\n", "stdout F ca-ok\n",
		fmt.Sprintf("stdout F pod=reader ip=%s greeting=hi there\n", pod.Status.PodIP),
		"stdout F search study-aews.svc.cluster.local svc.cluster.local cluster.local us-east-1.compute.internal\n",
		"stdout F options ndots:5\n",
		"stdout F nofile=1024 hostname=reader\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func assertCrashLoop(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, podManifest("crasher", "Always", "echo failing; exit 3", ""))
	waitPod(t, cs, "crasher", 2*time.Minute, "CrashLoopBackOff", func(p *corev1.Pod) error {
		if len(p.Status.ContainerStatuses) == 0 {
			return fmt.Errorf("no status")
		}
		s := p.Status.ContainerStatuses[0]
		if s.State.Waiting == nil || s.State.Waiting.Reason != "CrashLoopBackOff" || s.RestartCount < 1 {
			return fmt.Errorf("not backing off")
		}
		if last := s.LastTerminationState.Terminated; last == nil || last.ExitCode != 3 || last.Reason != "Error" {
			return fmt.Errorf("last state %+v", s.LastTerminationState)
		}
		return nil
	})
}

func assertReadinessGates(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	apply(t, srv, podManifest("slow-ready", "Always", "sleep 6; touch /tmp/ready; sleep 3600", `    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
`))
	waitPod(t, cs, "slow-ready", 2*time.Minute, "running but not ready", func(p *corev1.Pod) error {
		if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running == nil {
			return fmt.Errorf("not running")
		}
		if podReady(p) {
			return fmt.Errorf("ready before its probe passed")
		}
		return nil
	})
	waitPod(t, cs, "slow-ready", time.Minute, "ready once the probe passes", func(p *corev1.Pod) error {
		if !podReady(p) || !p.Status.ContainerStatuses[0].Ready {
			return fmt.Errorf("not ready")
		}
		return nil
	})
}

func assertOOMKilled(t *testing.T, srv *harness.Server, cs kubernetes.Interface) {
	// tail keeps the last lines of /dev/zero, which has no newline: its
	// buffer grows until the 0.5 GB of the smallest Fargate size is used.
	apply(t, srv, podManifest("hog", "Never", "tail /dev/zero", ""))
	waitPod(t, cs, "hog", 3*time.Minute, "OOMKilled", func(p *corev1.Pod) error {
		if p.Status.Phase != corev1.PodFailed || len(p.Status.ContainerStatuses) == 0 {
			return fmt.Errorf("not failed")
		}
		term := p.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
			return fmt.Errorf("terminated %+v", term)
		}
		return nil
	})
}
