package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fargo-dev/fargo/internal/logpipe/output/awsfake"
	"github.com/fargo-dev/fargo/internal/testwait"
	"github.com/fargo-dev/fargo/test/e2e/harness"
)

// walkthroughLogging is spec section 7's ConfigMap, verbatim, with its
// namespace.
const walkthroughLogging = `apiVersion: v1
kind: Namespace
metadata:
  name: aws-observability
  labels:
    aws-observability: enabled
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-logging, namespace: aws-observability}
data:
  filters.conf: |
    [FILTER]
      Name parser
      Match *
      Key_name log
      Parser crio
    [FILTER]
      Name kubernetes
      Match kube.*
      Merge_Log On
      Keep_Log Off
      Buffer_Size 0
      Kube_Meta_Cache_TTL 300s
  flb_log_cw: "true"
  output.conf: |+
    [OUTPUT]
          Name cloudwatch
          Match kube.*
          region ap-northeast-2
          log_group_name /fargate-serverless/fargate-fluentbit-logs2025031912350445510000000d
          log_stream_prefix fargate-logs-
          auto_create_group true
    [OUTPUT]
          Name cloudwatch_logs
          Match *
          region ap-northeast-2
          log_group_name /fargate-serverless/fargate-fluentbit-logs2025031912350445510000000d
          log_stream_prefix fargate-logs-fluent-bit-
          auto_create_group true
  parsers.conf: |
    [PARSER]
      Name crio
      Format Regex
      Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$
      Time_Key    time
      Time_Format %Y-%m-%dT%H:%M:%S.%L%z
      Time_Keep On
`

const walkthroughGroup = "/fargate-serverless/fargate-fluentbit-logs2025031912350445510000000d"

// loggingNginx are the walkthrough's nginx pods, each writing a JSON line
// with a counter every 50 ms, so that a lost or repeated line shows.
const loggingNginx = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  namespace: study-aews
spec:
  replicas: 2
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: nginx:latest
        command: ["sh", "-c", "i=0; while true; do echo \"{\\\"msg\\\":\\\"GET / 200\\\",\\\"n\\\":$i}\"; i=$((i+1)); usleep 50000; done"]
`

// TestFargateLogging walks EKS's Fargate logging section on fargo up: the
// walkthrough's ConfigMap as is, its CloudWatch outputs reaching a
// CloudWatch Logs endpoint (a fake of the AWS protocol: no CloudWatch can
// run here) through the AWS SDK's standard endpoint and credential
// settings, and the nginx pods' lines arriving in the walkthrough's log
// streams, parsed, with kubernetes metadata, each line once, across an
// agent restart, signed with the credentials of the Secret the profile
// names. An invalid ConfigMap is refused at apply time; a changed one
// applies to new pods only.
func TestFargateLogging(t *testing.T) {
	harness.RequireRoot(t)
	cw := awsfake.New(t)
	srv := harness.NewServer(t, "up", t.TempDir(), "--name", "local", "--cpu", "8", "--memory", "16Gi", "--cluster-name", "study")
	srv.Env = []string{
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + cw.URL,
		"AWS_ACCESS_KEY_ID=AKIDFARGOE2E", "AWS_SECRET_ACCESS_KEY=e2e-secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
	srv.Start(t)
	mustFargo(t, srv, "create", "fargateprofile", "--cluster", "study", "--name", "study-aews", "--namespace", "study-aews",
		"--logging-credentials-secret", "study-logging")
	srv.ImportImages(t, harness.SeedTarball(t))
	t.Cleanup(func() { deleteFargatePods(t, srv) })
	cs := srv.Client(t)

	apply(t, srv, walkthroughLogging)
	if out, err := srv.Kubectl(t, "-n", "aws-observability", "create", "secret", "generic", "study-logging",
		"--from-literal=AWS_ACCESS_KEY_ID=AKIDFROMSECRET", "--from-literal=AWS_SECRET_ACCESS_KEY=from-secret"); err != nil {
		t.Fatalf("creating the logging credentials Secret: %v\n%s", err, out)
	}
	apply(t, srv, studyNamespace)
	apply(t, srv, loggingNginx)
	pods := runningPods(t, cs, "app=nginx", 2)
	for _, p := range pods {
		if p.Annotations["Logging"] != "LoggingEnabled" {
			t.Fatalf("pod %s Logging = %q, want LoggingEnabled", p.Name, p.Annotations["Logging"])
		}
	}
	for _, p := range pods {
		stream := waitStream(t, cw, walkthroughGroup, "fargate-logs-kube.var.log.containers."+p.Name+"_study-aews_nginx-", 20)
		assertWalkthroughRecord(t, cw, stream, p)
		waitStream(t, cw, walkthroughGroup, "fargate-logs-fluent-bit-kube.var.log.containers."+p.Name+"_study-aews_nginx-", 1)
		self := waitStream(t, cw, "study-fluent-bit-logs", "fluent-bit-"+p.Name+"-study-aews", 1)
		if ev := cw.LogEvents("study-fluent-bit-logs", self); !strings.Contains(ev[0].Message, "routing logs of pod study-aews/"+p.Name) {
			t.Errorf("flb_log_cw stream %s begins %q, want the router saying it routes the pod", self, ev[0].Message)
		}
	}

	// The profile's Secret signs the pods' logs, not the agent's own
	// credentials.
	if key := cw.LastAccessKey(); key != "AKIDFROMSECRET" {
		t.Errorf("logs sent with access key %q, want the profile's Secret's AKIDFROMSECRET", key)
	}

	t.Run("invalid configmap refused at apply time", func(t *testing.T) {
		bad := strings.Replace(walkthroughLogging, "      Buffer_Size 0\n", "      Buffer_Size 0\n      Kube_URL https://elsewhere:443\n", 1)
		out, err := srv.KubectlStdin(t, bad, "apply", "-f", "-")
		if err == nil || !strings.Contains(out, "Kube_URL is set by fargo for the kubernetes filter: remove it") {
			t.Fatalf("kubectl apply of a config with Kube_URL: %v\n%s", err, out)
		}
		for _, p := range pods {
			if got := cw.LogStreams(walkthroughGroup); len(got) == 0 {
				t.Fatalf("streams gone after a refused apply of pod %s's config", p.Name)
			}
		}
	})

	// Ctrl-C and start again: the adopted pods' lines go on from where
	// they were, none lost and none twice.
	srv.Stop(t)
	srv.Start(t)
	cs = srv.Client(t)
	for _, p := range pods {
		stream := waitStream(t, cw, walkthroughGroup, "fargate-logs-kube.var.log.containers."+p.Name+"_study-aews_nginx-", 0)
		before := len(cw.LogEvents(walkthroughGroup, stream))
		waitStream(t, cw, walkthroughGroup, "fargate-logs-kube.var.log.containers."+p.Name+"_study-aews_nginx-", before+40)
		assertCounterOnce(t, cw.LogEvents(walkthroughGroup, stream), stream)
	}

	// A changed ConfigMap applies to new pods only.
	apply(t, srv, strings.Replace(walkthroughLogging, "log_stream_prefix fargate-logs-\n", "log_stream_prefix changed-\n", 1))
	if _, err := srv.Kubectl(t, "-n", "study-aews", "scale", "deployment/nginx", "--replicas=3"); err != nil {
		t.Fatal(err)
	}
	all := runningPods(t, cs, "app=nginx", 3)
	for _, p := range all {
		if p.Name == pods[0].Name || p.Name == pods[1].Name {
			continue
		}
		waitStream(t, cw, walkthroughGroup, "changed-kube.var.log.containers."+p.Name+"_study-aews_nginx-", 1)
	}
	for _, p := range pods {
		for _, s := range cw.LogStreams(walkthroughGroup) {
			if strings.HasPrefix(s, "changed-kube.var.log.containers."+p.Name+"_") {
				t.Errorf("pod %s, started before the change, logs to %s", p.Name, s)
			}
		}
	}

	// The router's state for a pod goes with the pod.
	state := filepath.Join(srv.DataDir, "agent", "logrouter")
	deleteFargatePods(t, srv)
	testwait.Eventually(t, time.Minute, "the log router's pod state removed", func(context.Context) error {
		left, _ := os.ReadDir(state)
		if len(left) > 0 {
			return fmt.Errorf("%d pod state dirs left in %s", len(left), state)
		}
		return nil
	})
}

// waitStream waits for a stream of group whose name begins with prefix to
// hold at least events events, and returns its name.
func waitStream(t *testing.T, cw *awsfake.Server, group, prefix string, events int) string {
	t.Helper()
	var name string
	testwait.Eventually(t, time.Minute, fmt.Sprintf("stream %s* in %s with %d events", prefix, group, events), func(context.Context) error {
		for _, s := range cw.LogStreams(group) {
			if strings.HasPrefix(s, prefix) {
				name = s
				if n := len(cw.LogEvents(group, s)); n < events {
					return fmt.Errorf("%d events", n)
				}
				return nil
			}
		}
		return fmt.Errorf("streams %v", cw.LogStreams(group))
	})
	return name
}

// assertWalkthroughRecord checks a record as the walkthrough's config
// makes it: the CRI line parsed by crio (time kept, stream, logtag), the
// container's JSON merged (Merge_Log On) and log removed (Keep_Log Off),
// kubernetes metadata from the API, and the event time from the CRI time.
func assertWalkthroughRecord(t *testing.T, cw *awsfake.Server, stream string, pod corev1.Pod) {
	t.Helper()
	ev := cw.LogEvents(walkthroughGroup, stream)[0]
	var rec map[string]any
	if err := json.Unmarshal([]byte(ev.Message), &rec); err != nil {
		t.Fatalf("event %q is not a JSON record: %v", ev.Message, err)
	}
	k8s, _ := rec["kubernetes"].(map[string]any)
	labels, _ := k8s["labels"].(map[string]any)
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"stream", rec["stream"], "stdout"},
		{"logtag", rec["logtag"], "F"},
		{"msg (merged from the JSON line)", rec["msg"], "GET / 200"},
		{"log (Keep_Log Off)", rec["log"], nil},
		{"kubernetes.pod_name", k8s["pod_name"], pod.Name},
		{"kubernetes.namespace_name", k8s["namespace_name"], "study-aews"},
		{"kubernetes.container_name", k8s["container_name"], "nginx"},
		{"kubernetes.pod_id", k8s["pod_id"], string(pod.UID)},
		{"kubernetes.host", k8s["host"], pod.Spec.NodeName},
		{"kubernetes.labels.app", labels["app"], "nginx"},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("record %s = %v, want %v\n%s", c.what, c.got, c.want, ev.Message)
		}
	}
	when, _ := rec["time"].(string)
	cri, err := time.Parse(time.RFC3339Nano, when)
	if err != nil {
		t.Fatalf("record time %q (Time_Keep On) is not the CRI time: %v", when, err)
	}
	if ev.Timestamp != cri.UnixMilli() {
		t.Errorf("event timestamp %d, want the CRI time %d (Time_Key time)", ev.Timestamp, cri.UnixMilli())
	}
}

// assertCounterOnce checks that the counters of a pod's lines go up by
// one from their first: none lost, none twice.
func assertCounterOnce(t *testing.T, events []awsfake.LogEvent, stream string) {
	t.Helper()
	first := -1
	for i, ev := range events {
		var rec struct{ N *int }
		if err := json.Unmarshal([]byte(ev.Message), &rec); err != nil || rec.N == nil {
			t.Fatalf("%s event %d has no counter: %q", stream, i, ev.Message)
		}
		if first < 0 {
			first = *rec.N
		}
		if *rec.N != first+i {
			t.Fatalf("%s event %d has counter %d, want %d: a line was lost or repeated", stream, i, *rec.N, first+i)
		}
	}
}
