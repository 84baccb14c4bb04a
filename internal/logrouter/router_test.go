package logrouter

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/profile"
	"github.com/fargo-dev/fargo/internal/testwait"
)

// routerFixture is a host's log directory with one pod whose logging is
// on, the API objects the router reads (a fake clientset: the API server
// is the boundary here), and a router over them.
type routerFixture struct {
	*podFixture
	client *kubefake.Clientset
}

func newRouterFixture(t *testing.T, config map[string]string) *routerFixture {
	t.Helper()
	f := &routerFixture{podFixture: newPodFixture(t)}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: f.ref.Name, Namespace: f.ref.Namespace, UID: types.UID(f.ref.UID),
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{profile.AnnotationLogging: awslogging.AnnotationEnabled},
		},
		Spec: corev1.PodSpec{NodeName: "fargate-ip-10-42-0-7.us-east-1.compute.internal"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "nginx", Image: "nginx:latest", ImageID: "docker-pullable://nginx@sha256:abc"}}},
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: awslogging.ConfigMapName, Namespace: awslogging.Namespace}, Data: config}
	f.client = kubefake.NewClientset(pod, cm)
	return f
}

func (f *routerFixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := New(Config{LogDir: f.logDir, StateDir: f.stateDir, Client: f.client, Cluster: "test", Region: "us-east-1", Poll: 20 * time.Millisecond})
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *routerFixture) writeLines(t *testing.T, lines ...string) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), l)
	}
	if _, err := f.file.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// readJSONLines waits for a file output's file to hold n records.
func readJSONLines(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	var recs []map[string]any
	testwait.Eventually(t, 20*time.Second, fmt.Sprintf("%d records in %s", n, filepath.Base(path)), func(context.Context) error {
		recs = nil
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		s := bufio.NewScanner(file)
		for s.Scan() {
			var r map[string]any
			if err := json.Unmarshal(s.Bytes(), &r); err != nil {
				return fmt.Errorf("line %q: %v", s.Text(), err)
			}
			recs = append(recs, r)
		}
		if len(recs) < n {
			return fmt.Errorf("%d records", len(recs))
		}
		return nil
	})
	return recs
}

// Every filter kind EKS allows, and the multiline filter, on real CRI
// lines through the whole router: config snapshot, tail, filters in
// order, rewrite_tag's new records back through the filters, outputs by
// Match.
func TestEachFilterOnRealLines(t *testing.T) {
	out := t.TempDir()
	f := newRouterFixture(t, map[string]string{
		"parsers.conf": `[PARSER]
    Name crio
    Format Regex
    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$
    Time_Key time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
`,
		"filters.conf": `[FILTER]
    Name parser
    Match kube.*
    Key_name log
    Parser crio
[FILTER]
    Name multiline
    Match kube.*
    multiline.key_content log
    multiline.parser java
[FILTER]
    Name grep
    Match kube.*
    Exclude log ^GET /healthz
[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log On
    Keep_Log Off
[FILTER]
    Name record_modifier
    Match kube.*
    Record cluster study
[FILTER]
    Name modify
    Match kube.*
    Rename level severity
[FILTER]
    Name nest
    Match kube.*
    Operation lift
    Nested_under kubernetes
    Add_prefix k8s_
[FILTER]
    Name rewrite_tag
    Match kube.*
    Rule $severity ^error$ errors.$TAG[4] false
[FILTER]
    Name throttle
    Match errors.*
    Rate 1
    Window 2
    Interval 1m
`,
		"output.conf": fmt.Sprintf(`[OUTPUT]
    Name file
    Match kube.*
    Path %[1]s
    File app.log
    Format plain
[OUTPUT]
    Name file
    Match errors.*
    Path %[1]s
    File errors.log
    Format plain
`, out),
	})
	f.start(t)
	f.writeLines(t,
		`{"level":"info","msg":"started"}`,
		"GET /healthz 200",
		`{"level":"error","msg":"boom1"}`,
		`{"level":"error","msg":"boom2"}`,
		`{"level":"error","msg":"boom3"}`,
		`Exception in thread "main" java.lang.IllegalStateException: bad`,
		"    at com.example.App.main(App.java:10)",
		`{"level":"info","msg":"done"}`,
	)
	errs := readJSONLines(t, filepath.Join(out, "errors.log"), 2)
	app := readJSONLines(t, filepath.Join(out, "app.log"), 3)

	if app[0]["msg"] != "started" || app[0]["severity"] != "info" || app[0]["cluster"] != "study" ||
		app[0]["k8s_pod_name"] != "web-1" || app[0]["k8s_container_name"] != "nginx" || app[0]["stream"] != "stdout" {
		t.Errorf("first record = %v: want the logfmt fields merged, level renamed, cluster added, kubernetes lifted with k8s_", app[0])
	}
	if labels, _ := app[0]["k8s_labels"].(map[string]any); labels["app"] != "web" {
		t.Errorf("k8s_labels = %v, want app=web from the API", app[0]["k8s_labels"])
	}
	for _, r := range app {
		if strings.Contains(fmt.Sprint(r), "healthz") {
			t.Errorf("grep Exclude let %v through", r)
		}
		if r["severity"] == "error" {
			t.Errorf("rewrite_tag (KEEP false) left error %v under its kube tag", r)
		}
	}
	var java map[string]any
	for _, r := range app {
		if strings.Contains(fmt.Sprint(r["log"]), "Exception") {
			java = r
		}
	}
	if java == nil || !strings.Contains(java["log"].(string), "\n    at com.example.App.main") {
		t.Errorf("the Java exception and its frame are not one record: %v", app)
	}
	if len(errs) != 2 || errs[0]["msg"] != "boom1" || errs[1]["msg"] != "boom2" {
		t.Errorf("errors = %v, want boom1 and boom2: 3 errors, rewritten to errors.*, throttled to 2 a minute", errs)
	}
	if len(app) != 3 || app[2]["msg"] != "done" {
		t.Errorf("app records = %v, want started, the exception (one record) and done", app)
	}
}

// An output down for 30 s (a real HTTP receiver answering 503) gets
// every line, once each, when it is back.
func TestOutputDownThirtySecondsThenBack(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 30 s: the outage is the test")
	}
	var (
		mu      sync.Mutex
		got     []string
		down    atomic.Bool
		refused atomic.Int32
	)
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			refused.Add(1)
			http.Error(w, "receiver restarting", http.StatusServiceUnavailable)
			return
		}
		s := bufio.NewScanner(r.Body)
		mu.Lock()
		defer mu.Unlock()
		for s.Scan() {
			var rec struct{ Log string }
			json.Unmarshal(s.Bytes(), &rec)
			got = append(got, rec.Log)
		}
	}))
	defer srv.Close()
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	f := newRouterFixture(t, map[string]string{"output.conf": fmt.Sprintf(`[OUTPUT]
    Name http
    Match *
    Host %s
    Port %s
    URI /logs
    Format json_lines
`, host, port)})
	f.start(t)
	lines := make([]string, 500)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d", i)
	}
	outage := time.Now()
	f.writeLines(t, lines[:250]...)
	testwait.Eventually(t, 20*time.Second, "sends refused", func(context.Context) error {
		if n := refused.Load(); n < 2 {
			return fmt.Errorf("%d refused", n)
		}
		return nil
	})
	f.writeLines(t, lines[250:]...)
	time.Sleep(time.Until(outage.Add(30 * time.Second)))
	down.Store(false)
	testwait.Eventually(t, 30*time.Second, "500 lines received", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 500 {
			return fmt.Errorf("%d received", len(got))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 500 {
		t.Fatalf("%d lines received, want 500 once each", len(got))
	}
	for i, raw := range got {
		if !strings.HasSuffix(raw, fmt.Sprintf(" F line %d", i)) {
			t.Fatalf("line %d received as %q: lost, repeated or out of order", i, raw)
		}
	}
}
