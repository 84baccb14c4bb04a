package e2e

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/fargo-dev/fargo/test/e2e/harness"
)

const testNamespace = "e2e-restart"

// TestServerKeepsObjectsAcrossRestart is what a user of `fargo server` relies
// on: objects made through the real controllers survive a clean stop, the
// second start reuses the data dir, and no process outlives the server.
func TestServerKeepsObjectsAcrossRestart(t *testing.T) {
	harness.RequireRoot(t)
	srv := harness.NewServer(t, "server", t.TempDir())
	srv.Start(t)
	for _, stage := range []string{"certificates ready", "etcd ready", "apiserver ready", "controller-manager ready"} {
		if !strings.Contains(srv.Output(), stage) {
			t.Errorf("start output lacks %q:\n%s", stage, srv.Output())
		}
	}
	cs := srv.Client(t)
	ctx := context.Background()
	created := createWorkloads(ctx, t, cs)

	srv.Stop(t)
	srv.Start(t)
	cs = srv.Client(t)
	for kind, uid := range created {
		if got := uidOf(ctx, t, cs, kind); got != uid {
			t.Errorf("%s after restart: uid %q, want %q", kind, got, uid)
		}
	}
	// The controllers work again after the restart, on the restored objects.
	if _, err := cs.AppsV1().Deployments(testNamespace).Patch(ctx, "web", types.MergePatchType,
		[]byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	podsIn(ctx, t, cs, testNamespace, "app=web", 3)
	srv.Stop(t)
}

// createWorkloads makes a Namespace, a Deployment (whose ReplicaSet and Pods
// the controller manager creates), a Job and a CronJob, and returns their UIDs.
func createWorkloads(ctx context.Context, t *testing.T, cs kubernetes.Interface) map[string]types.UID {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways,
			Containers: []corev1.Container{{Name: "web", Image: "nginx:latest"}}},
	}
	deploy, err := cs.AppsV1().Deployments(testNamespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobSpec := batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "pi", Image: "busybox", Command: []string{"sleep", "1"}}}}}}
	job, err := cs.BatchV1().Jobs(testNamespace).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "once"}, Spec: jobSpec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cron, err := cs.BatchV1().CronJobs(testNamespace).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: jobSpec}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := podsIn(ctx, t, cs, testNamespace, "app=web", 2)
	for _, p := range pods {
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
			t.Errorf("pod %s: phase %q on node %q, want Pending and unscheduled (there is no node)", p.Name, p.Status.Phase, p.Spec.NodeName)
		}
	}
	podsIn(ctx, t, cs, testNamespace, "job-name=once", 1)
	rs, err := cs.AppsV1().ReplicaSets(testNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(rs.Items) != 1 {
		t.Fatalf("replicasets of the deployment: %v, %v", rs, err)
	}
	return map[string]types.UID{
		"namespace": ns.UID, "deployment": deploy.UID, "replicaset": rs.Items[0].UID,
		"pod/" + pods[0].Name: pods[0].UID, "pod/" + pods[1].Name: pods[1].UID,
		"job": job.UID, "cronjob": cron.UID,
	}
}

func uidOf(ctx context.Context, t *testing.T, cs kubernetes.Interface, kind string) types.UID {
	t.Helper()
	var (
		obj metav1.Object
		err error
	)
	switch {
	case kind == "namespace":
		obj, err = cs.CoreV1().Namespaces().Get(ctx, testNamespace, metav1.GetOptions{})
	case kind == "deployment":
		obj, err = cs.AppsV1().Deployments(testNamespace).Get(ctx, "web", metav1.GetOptions{})
	case kind == "replicaset":
		var list *appsv1.ReplicaSetList
		if list, err = cs.AppsV1().ReplicaSets(testNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=web"}); err == nil && len(list.Items) == 1 {
			obj = &list.Items[0]
		}
	case strings.HasPrefix(kind, "pod/"):
		obj, err = cs.CoreV1().Pods(testNamespace).Get(ctx, strings.TrimPrefix(kind, "pod/"), metav1.GetOptions{})
	case kind == "job":
		obj, err = cs.BatchV1().Jobs(testNamespace).Get(ctx, "once", metav1.GetOptions{})
	case kind == "cronjob":
		obj, err = cs.BatchV1().CronJobs(testNamespace).Get(ctx, "nightly", metav1.GetOptions{})
	}
	if err != nil || obj == nil {
		t.Errorf("%s after restart: %v", kind, err)
		return ""
	}
	return obj.GetUID()
}

// TestKubectl runs the embedded kubectl against the cluster.
func TestKubectl(t *testing.T) {
	srv := shared(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"version", []string{"version"}, []string{"Client Version: v1.36", "Server Version: v1.36"}},
		{"get namespaces", []string{"get", "ns"}, []string{"default", "kube-system", "kube-public", "kube-node-lease"}},
		{"get nodes is empty", []string{"get", "nodes"}, []string{"No resources found"}},
		{"auth as admin", []string{"auth", "can-i", "create", "pods", "--all-namespaces"}, []string{"yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := srv.Kubectl(t, tt.args...)
			if err != nil {
				t.Fatalf("fargo kubectl %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("fargo kubectl %s: output lacks %q:\n%s", strings.Join(tt.args, " "), w, out)
				}
			}
		})
	}
}
