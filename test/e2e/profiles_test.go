package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// fargo runs a fargo verb against srv and returns its combined output.
func fargo(t *testing.T, srv *harness.Server, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+srv.Kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustFargo(t *testing.T, srv *harness.Server, args ...string) string {
	t.Helper()
	out, err := fargo(t, srv, args...)
	if err != nil {
		t.Fatalf("fargo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func apply(t *testing.T, srv *harness.Server, manifest string) {
	t.Helper()
	if out, err := srv.KubectlStdin(t, manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, manifest)
	}
}

// seedNetshoot is the seed walkthrough's netshoot Deployment.
const seedNetshoot = `apiVersion: v1
kind: Namespace
metadata:
  name: study-aews
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: netshoot
  namespace: study-aews
spec:
  replicas: 1
  selector:
    matchLabels:
      app: netshoot
  template:
    metadata:
      labels:
        app: netshoot
    spec:
      containers:
      - name: netshoot
        image: nicolaka/netshoot
        command: ["tail"]
        args: ["-f", "/dev/null"]
        resources:
          requests:
            cpu: 500m
            memory: 500Mi
          limits:
            cpu: "2"
            memory: 2Gi
`

// seedGame is the 2048 sample: namespace, Deployment of 5, no requests.
const seedGame = `apiVersion: v1
kind: Namespace
metadata:
  name: game-2048
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deployment-2048
  namespace: game-2048
spec:
  replicas: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: app-2048
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-2048
    spec:
      containers:
      - image: public.ecr.aws/l6m2t8p7/docker-2048:latest
        imagePullPolicy: Always
        name: app-2048
        ports:
        - containerPort: 80
`

// TestProfilesPlacePods: profiles made with the CLI take the seed
// Deployments' pods, and admission writes what EKS writes on them.
func TestProfilesPlacePods(t *testing.T) {
	srv := shared(t)
	cs := srv.Client(t)
	ctx := context.Background()
	out := mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews")
	if !strings.Contains(out, "study-aews") {
		t.Errorf("create output does not name the profile:\n%s", out)
	}
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "game", "--namespace", "game-*")
	t.Cleanup(func() {
		fargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--wait")
		fargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", "game", "--wait")
	})
	yaml := mustFargo(t, srv, "get", "fargateprofile", "--cluster", "study", "-o", "yaml")
	for _, want := range []string{"- name: game\n", "- namespace: game-*\n", "- name: study-aews\n", "status: ACTIVE\n"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("get -o yaml lacks %q:\n%s", want, yaml)
		}
	}

	apply(t, srv, seedNetshoot)
	apply(t, srv, seedGame)
	apply(t, srv, `apiVersion: v1
kind: Pod
metadata:
  name: on-ec2
  namespace: study-aews
  annotations:
    eks.amazonaws.com/compute-type: ec2
spec:
  containers:
  - name: c
    image: busybox
`)
	netshoot := podsIn(ctx, t, cs, "study-aews", "app=netshoot", 1)
	assertFargatePod(t, netshoot[0], "study-aews", "0.5vCPU 1GB", "LoggingDisabled: LOGGING_CONFIGMAP_NOT_FOUND")
	placed := map[types.UID]bool{}
	for _, p := range podsIn(ctx, t, cs, "game-2048", "", 5) {
		assertFargatePod(t, p, "game", "0.25vCPU 0.5GB", "LoggingDisabled: LOGGING_CONFIGMAP_NOT_FOUND")
		placed[p.UID] = true
	}
	onEC2, err := cs.CoreV1().Pods("study-aews").Get(ctx, "on-ec2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertUntouched(t, onEC2)
	apply(t, srv, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: elsewhere\n  namespace: default\nspec:\n  containers:\n  - name: c\n    image: busybox\n")
	elsewhere, err := cs.CoreV1().Pods("default").Get(ctx, "elsewhere", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertUntouched(t, elsewhere)

	// With aws-logging in place, new pods get logging.
	apply(t, srv, seedLogging)
	t.Cleanup(func() { srv.Kubectl(t, "delete", "namespace", "aws-observability", "--wait=false") })
	testwait.Eventually(t, 30*time.Second, "new pod with LoggingEnabled", func(ctx context.Context) error {
		cs.CoreV1().Pods("study-aews").Delete(ctx, netshoot[0].Name, metav1.DeleteOptions{})
		pods, err := cs.CoreV1().Pods("study-aews").List(ctx, metav1.ListOptions{LabelSelector: "app=netshoot"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Annotations["Logging"] != "LoggingEnabled" {
			return fmt.Errorf("pods %v, %v", pods, err)
		}
		return nil
	})

	// Deleting the profile deletes its pods; their replacements match no
	// profile any more and are left alone.
	mustFargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", "game", "--wait")
	testwait.Eventually(t, time.Minute, "game pods replaced and unplaced", func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods("game-2048").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 5 {
			return fmt.Errorf("%d pods", len(list.Items))
		}
		for _, p := range list.Items {
			if placed[p.UID] || p.Spec.SchedulerName != "default-scheduler" {
				return fmt.Errorf("pod %s (uid %s) scheduler %q still from the deleted profile", p.Name, p.UID, p.Spec.SchedulerName)
			}
		}
		return nil
	})
}

// seedLogging enables Fargate logging with a CloudWatch output.
const seedLogging = `kind: Namespace
apiVersion: v1
metadata:
  name: aws-observability
  labels:
    aws-observability: enabled
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: aws-logging
  namespace: aws-observability
data:
  output.conf: |
    [OUTPUT]
        Name cloudwatch_logs
        Match   *
        region region-code
        log_group_name fluent-bit-cloudwatch
        log_stream_prefix from-fluent-bit-
        auto_create_group true
`

func assertFargatePod(t *testing.T, p corev1.Pod, profileName, size, logging string) {
	t.Helper()
	checks := []struct{ what, got, want string }{
		{"schedulerName", p.Spec.SchedulerName, "fargate-scheduler"},
		{"profile label", p.Labels["eks.amazonaws.com/fargate-profile"], profileName},
		{"CapacityProvisioned", p.Annotations["CapacityProvisioned"], size},
		{"Logging", p.Annotations["Logging"], logging},
		{"priorityClassName", p.Spec.PriorityClassName, "system-node-critical"},
		{"priority", fmt.Sprint(derefInt32(p.Spec.Priority)), "2000001000"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("pod %s/%s %s = %q, want %q", p.Namespace, p.Name, c.what, c.got, c.want)
		}
	}
}

func assertUntouched(t *testing.T, p *corev1.Pod) {
	t.Helper()
	if p.Spec.SchedulerName != "default-scheduler" || p.Labels["eks.amazonaws.com/fargate-profile"] != "" || p.Annotations["CapacityProvisioned"] != "" {
		t.Errorf("pod %s/%s was changed by admission: scheduler %q, labels %v, annotations %v",
			p.Namespace, p.Name, p.Spec.SchedulerName, p.Labels, p.Annotations)
	}
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func podsIn(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	testwait.Eventually(t, time.Minute, fmt.Sprintf("%d pods in %s", n, ns), func(ctx context.Context) error {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if len(list.Items) != n {
			return fmt.Errorf("%d pods", len(list.Items))
		}
		pods = list.Items
		return nil
	})
	return pods
}

// TestInvalidProfilesAreRefused: each rule of spec section 1 refuses the
// profile at apply time with a message naming it, through the CLI and
// through kubectl alike.
func TestInvalidProfilesAreRefused(t *testing.T) {
	srv := shared(t)
	sixSelectors := "apiVersion: fargo.dev/v1\nkind: FargateProfile\nmetadata:\n  name: six\nspec:\n  selectors:\n"
	for i := range 6 {
		sixSelectors += fmt.Sprintf("  - namespace: ns%d\n", i)
	}
	tests := []struct {
		name     string
		cli      []string
		manifest string
		want     string
	}{
		{name: "eks- prefix (CLI)", cli: []string{"--name", "eks-web", "--namespace", "web"}, want: `must not start with "eks-"`},
		{name: "eks- prefix (kubectl)", manifest: "apiVersion: fargo.dev/v1\nkind: FargateProfile\nmetadata:\n  name: eks-web\nspec:\n  selectors:\n  - namespace: web\n",
			want: "eks-"},
		{name: "too many selectors", manifest: sixSelectors, want: "selectors"},
		{name: "missing namespace", manifest: "apiVersion: fargo.dev/v1\nkind: FargateProfile\nmetadata:\n  name: nons\nspec:\n  selectors:\n  - labels:\n      a: b\n",
			want: "namespace"},
		{name: "public subnet", cli: []string{"--name", "public", "--namespace", "web", "--subnets", "8.8.8.0/24"}, want: "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				out string
				err error
			)
			if tt.cli != nil {
				out, err = fargo(t, srv, append([]string{"create", "fargateprofile", "--cluster", "study"}, tt.cli...)...)
			} else {
				out, err = srv.KubectlStdin(t, tt.manifest, "apply", "-f", "-")
			}
			if err == nil {
				t.Fatalf("invalid profile accepted:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("refusal does not name the rule (%q):\n%s", tt.want, out)
			}
		})
	}
	t.Run("profiles are immutable", func(t *testing.T) {
		mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "fixed", "--namespace", "fixed")
		defer fargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", "fixed", "--wait")
		out, err := srv.Kubectl(t, "patch", "fargateprofile", "fixed", "--type=merge", "-p", `{"spec":{"selectors":[{"namespace":"other"}]}}`)
		if err == nil || !strings.Contains(out, "immutable") {
			t.Fatalf("changing a profile: %v\n%s", err, out)
		}
	})
}

// TestProfileLimitsAndDeletion: at most 10 profiles; deleting one deletes
// the pods it placed (their ReplicaSet recreates them, unplaced), and while
// it is DELETING no other profile may be created or deleted.
func TestProfileLimitsAndDeletion(t *testing.T) {
	srv := shared(t)
	cs := srv.Client(t)
	ctx := context.Background()
	var created []string
	defer func() {
		for _, name := range created {
			fargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", name, "--wait")
		}
	}()
	existing := profileCount(t, srv)
	for i := existing; i < 10; i++ {
		name := fmt.Sprintf("limit-%d", i)
		mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", name, "--namespace", name)
		created = append(created, name)
	}
	if out, err := fargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "eleventh", "--namespace", "x"); err == nil || !strings.Contains(out, "at most 10") {
		t.Fatalf("11th profile: %v\n%s", err, out)
	}

	// A pod of limit-9 held by a finalizer keeps limit-9 DELETING.
	holder := created[len(created)-1]
	apply(t, srv, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %[1]s\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: held\n  namespace: %[1]s\n  finalizers: [\"e2e.fargo.dev/hold\"]\nspec:\n  containers:\n  - name: c\n    image: busybox\n", holder))
	held := podsIn(ctx, t, cs, holder, "", 1)[0]
	if held.Labels["eks.amazonaws.com/fargate-profile"] != holder {
		t.Fatalf("held pod not placed by %s: %v", holder, held.Labels)
	}
	mustFargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", holder)
	testwait.Eventually(t, 30*time.Second, "profile DELETING", func(context.Context) error {
		if out := mustFargo(t, srv, "get", "fargateprofile", "--name", holder, "-o", "yaml"); !strings.Contains(out, "status: DELETING") {
			return fmt.Errorf("%s", out)
		}
		return nil
	})
	for _, args := range [][]string{
		{"create", "fargateprofile", "--cluster", "study", "--name", "during", "--namespace", "x"},
		{"delete", "fargateprofile", "--cluster", "study", "--name", created[0]},
	} {
		if out, err := fargo(t, srv, args...); err == nil || !strings.Contains(out, "DELETING") {
			t.Errorf("fargo %s while %s is DELETING: %v\n%s", strings.Join(args, " "), holder, err, out)
		}
	}
	if _, err := cs.CoreV1().Pods(holder).Patch(ctx, "held", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 30*time.Second, "DELETING profile gone once its pod is", func(context.Context) error {
		out, err := fargo(t, srv, "get", "fargateprofile", "--name", holder, "-o", "yaml")
		if err == nil || !strings.Contains(out, "not found") {
			return fmt.Errorf("still there:\n%s", out)
		}
		return nil
	})
	created = created[:len(created)-1]
}

func profileCount(t *testing.T, srv *harness.Server) int {
	t.Helper()
	out, err := srv.Kubectl(t, "get", "fargateprofiles", "-o", "name")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return len(strings.Fields(out))
}

// TestCreateClusterFromFile reads an eksctl ClusterConfig: its profiles are
// created and ACTIVE; a file with an unknown field creates nothing.
func TestCreateClusterFromFile(t *testing.T) {
	srv := shared(t)
	dir := t.TempDir()
	good := dir + "/cluster.yaml"
	writeFile("cluster.yaml", `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: study
  region: ap-northeast-2
  version: "1.36"
fargateProfiles:
- name: fargate-game-2048
  podExecutionRoleARN: arn:aws:iam::000000000000:role/fargate
  selectors:
  - namespace: fargate-game-2048
  subnets:
  - 10.10.0.0/20
`)(t, dir)
	writeFile("typo.yaml", `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: study
fargateProfiles:
- name: typo
  selector:
  - namespace: typo
`)(t, dir)
	out, err := fargo(t, srv, "create", "cluster", "-f", dir+"/typo.yaml")
	if err == nil || !strings.Contains(out, `unknown field "fargateProfiles[0].selector"`) {
		t.Fatalf("file with an unknown field: %v\n%s", err, out)
	}
	if out, err := fargo(t, srv, "get", "fargateprofile", "--name", "typo"); err == nil {
		t.Fatalf("profile of a refused file exists:\n%s", out)
	}
	mustFargo(t, srv, "create", "cluster", "-f", good)
	t.Cleanup(func() {
		fargo(t, srv, "delete", "fargateprofile", "--cluster", "study", "--name", "fargate-game-2048", "--wait")
	})
	want := `- name: fargate-game-2048
  podExecutionRoleARN: arn:aws:iam::000000000000:role/fargate
  selectors:
  - namespace: fargate-game-2048
  status: ACTIVE
  subnets:
  - 10.10.0.0/20
`
	if got := mustFargo(t, srv, "get", "fargateprofile", "--name", "fargate-game-2048", "-o", "yaml"); got != want {
		t.Errorf("get -o yaml:\n%s\nwant:\n%s", got, want)
	}
}
