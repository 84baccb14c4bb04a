package filter

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// walkthroughPipeline builds the EKS Fargate walkthrough's pair of filters:
//
//	[FILTER] Name parser / Match * / Key_name log / Parser crio
//	[FILTER] Name kubernetes / Match kube.* / Merge_Log On / Keep_Log Off /
//	         Buffer_Size 0 / Kube_Meta_Cache_TTL 300s
func walkthroughPipeline(t *testing.T, deps Deps) func(logpipe.Record) []logpipe.Record {
	parser := mustNew(t, deps, "Name", "parser", "Match", "*", "Key_name", "log", "Parser", "crio")
	kube := mustNew(t, deps, "Name", "kubernetes", "Match", "kube.*",
		"Merge_Log", "On", "Keep_Log", "Off", "Buffer_Size", "0", "Kube_Meta_Cache_TTL", "300s")
	return func(r logpipe.Record) []logpipe.Record {
		var out []logpipe.Record
		for _, p := range parser.Filter(r) {
			out = append(out, kube.Filter(p)...)
		}
		return out
	}
}

func cri(stream, msg string) map[string]any {
	return map[string]any{"log": "2024-05-01T10:00:00.123456789Z " + stream + " F " + msg}
}

func TestEKSWalkthroughParserThenKubernetes(t *testing.T) {
	clock := newClock()
	pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": webPod()}}
	run := walkthroughPipeline(t, Deps{Parsers: testParsers, Pods: pods, Now: clock.Now})

	out := run(rec(webTag, cri("stdout", `{"level":"info","msg":"GET /healthz\n","status":200,"latency":0.25}`)))
	if len(out) != 1 {
		t.Fatalf("got %d records", len(out))
	}
	wantFields(t, out[0].Fields, map[string]any{
		"stream":  "stdout",
		"logtag":  "F",
		"level":   "info",
		"msg":     "GET /healthz", // Merge_Log_Trim (default On) drops the newline
		"status":  int64(200),
		"latency": 0.25,
		"kubernetes": map[string]any{
			"pod_name":        "web-1",
			"namespace_name":  "default",
			"pod_id":          "5f0c2b1e-8f5a-4d0e-9a51-2b7c1c3d4e5f",
			"labels":          map[string]any{"app": "web", "eks.amazonaws.com/fargate-profile": "default"},
			"annotations":     map[string]any{"CapacityProvisioned": "0.25vCPU 0.5GB"},
			"host":            "fargate-ip-192-168-10-20.eu-west-1.compute.internal",
			"container_name":  "nginx",
			"docker_id":       "0c2f4e1a-9b3-nginx-0",
			"container_hash":  "docker.io/library/nginx@sha256:0a1b2c",
			"container_image": "nginx:1.25",
		},
	})
	if !out[0].Time.Equal(criTime) {
		t.Errorf("time = %v, want the CRI line's %v", out[0].Time, criTime)
	}

	// A plain-text line is not merged, so Keep_Log Off keeps it.
	out = run(rec(webTag, cri("stderr", "nginx: worker process started")))
	if got := out[0].Fields["log"]; got != "nginx: worker process started" {
		t.Errorf("unmerged log = %v, want it kept", got)
	}
	if _, ok := out[0].Fields["kubernetes"]; !ok {
		t.Error("unmerged record has no kubernetes metadata")
	}
}

func TestKubernetesCachesPodMetadataForTheTTL(t *testing.T) {
	clock := newClock()
	pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": webPod(), "default/api-7": webPod()}}
	run := walkthroughPipeline(t, Deps{Parsers: testParsers, Pods: pods, Now: clock.Now})
	line := cri("stdout", `{"msg":"x"}`)

	run(rec(webTag, line))
	clock.Advance(299 * time.Second)
	run(rec(webTag, line))
	if n := pods.lookups("default/web-1"); n != 1 {
		t.Fatalf("%d lookups within the 300s TTL, want 1", n)
	}
	// Each pod has its own entry.
	run(rec("kube.var.log.containers.api-7_default_api-1a2b3c4d-5e6-api-0.log", line))
	if n := pods.lookups("default/api-7"); n != 1 {
		t.Fatalf("other pod looked up %d times, want 1", n)
	}
	clock.Advance(time.Second)
	run(rec(webTag, line))
	if n := pods.lookups("default/web-1"); n != 2 {
		t.Fatalf("%d lookups once the TTL passed, want 2", n)
	}
}

func TestKubernetesDefaultTTLAndZeroMeansForever(t *testing.T) {
	for _, tc := range []struct {
		ttl     []string
		advance time.Duration
		want    int
	}{
		{nil, 29 * time.Minute, 1},
		{nil, 30 * time.Minute, 2},
		{[]string{"Kube_Meta_Cache_TTL", "0"}, 1000 * time.Hour, 1},
	} {
		clock := newClock()
		pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": webPod()}}
		kv := append([]string{"Name", "kubernetes"}, tc.ttl...)
		f := mustNew(t, Deps{Pods: pods, Now: clock.Now}, kv...)
		f.Filter(rec(webTag, map[string]any{"log": "a"}))
		clock.Advance(tc.advance)
		f.Filter(rec(webTag, map[string]any{"log": "b"}))
		if n := pods.lookups("default/web-1"); n != tc.want {
			t.Errorf("TTL %v after %v: %d lookups, want %d", tc.ttl, tc.advance, n, tc.want)
		}
	}
}

func TestKubernetesLookupErrorStillMergesLog(t *testing.T) {
	pods := &fakePods{err: errors.New("apiserver unavailable")}
	f := mustNew(t, Deps{Pods: pods}, "Name", "kubernetes", "Merge_Log", "On", "Keep_Log", "Off")
	out := one(t, f, rec(webTag, map[string]any{"log": `{"a":"b"}`, "stream": "stdout"}))
	wantFields(t, out.Fields, map[string]any{"a": "b", "stream": "stdout"})
	one(t, f, rec(webTag, map[string]any{"log": "x"}))
	if n := pods.lookups("default/web-1"); n != 2 {
		t.Errorf("%d lookups, want 2: a failure is not cached", n)
	}
}

func TestKubernetesLeavesOtherTagsAlone(t *testing.T) {
	pods := &fakePods{}
	f := mustNew(t, Deps{Pods: pods}, "Name", "kubernetes", "Merge_Log", "On", "Keep_Log", "Off")
	for _, tag := range []string{"app.log", "kube.var.log.containers.notalog", "kube.var.log.containers.Web_default_x-1.log"} {
		in := map[string]any{"log": `{"a":"b"}`}
		wantFields(t, one(t, f, rec(tag, in)).Fields, map[string]any{"log": `{"a":"b"}`})
	}
	if len(pods.calls) != 0 {
		t.Errorf("looked up pods for foreign tags: %v", pods.calls)
	}
}

func TestKubernetesMergeOptions(t *testing.T) {
	pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": webPod()}}
	deps := Deps{Pods: pods}
	in := func() map[string]any { return map[string]any{"log": `{"user":{"id":7},"msg":"hi\\n"}`} }

	keyed := one(t, mustNew(t, deps, "Name", "kubernetes", "Merge_Log", "On", "Merge_Log_Key", "app", "Labels", "Off", "Annotations", "Off"), rec(webTag, in()))
	if _, ok := keyed.Fields["log"]; !ok {
		t.Error("Keep_Log defaults to On but log was removed")
	}
	wantFields(t, keyed.Fields["app"].(map[string]any), map[string]any{"user": map[string]any{"id": int64(7)}, "msg": "hi"})
	meta := keyed.Fields["kubernetes"].(map[string]any)
	if _, ok := meta["labels"]; ok {
		t.Error("Labels Off but labels written")
	}
	if _, ok := meta["annotations"]; ok {
		t.Error("Annotations Off but annotations written")
	}

	untrimmed := one(t, mustNew(t, deps, "Name", "kubernetes", "Merge_Log", "On", "Merge_Log_Trim", "Off"), rec(webTag, in()))
	if got := untrimmed.Fields["msg"]; got != "hi\\n" {
		t.Errorf("Merge_Log_Trim Off: msg = %q", got)
	}

	off := one(t, mustNew(t, deps, "Name", "kubernetes"), rec(webTag, in()))
	if _, ok := off.Fields["user"]; ok {
		t.Error("Merge_Log defaults to Off but the log was merged")
	}

	merge := mustNew(t, deps, "Name", "kubernetes", "Merge_Log", "On", "Keep_Log", "Off")
	for _, notOne := range []string{`{"a":1}{"b":2}`, `["a"]`, `{"a":`} {
		got := one(t, merge, rec(webTag, map[string]any{"log": notOne})).Fields
		if got["log"] != notOne {
			t.Errorf("log %q: merged or dropped: %v", notOne, got)
		}
	}
	// A log that is already a map merges as it is.
	got := one(t, merge, rec(webTag, map[string]any{"log": map[string]any{"k": "v\n"}})).Fields
	if got["k"] != "v\n" {
		t.Errorf("map log: %v", got)
	}
}

func TestKubernetesMergeParser(t *testing.T) {
	clock := newClock()
	pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": webPod()}}
	f := mustNew(t, Deps{Pods: pods, Parsers: testParsers, Now: clock.Now}, "Name", "kubernetes", "Merge_Log", "On", "Merge_Parser", "logfmt", "Keep_Log", "Off")
	out := one(t, f, rec(webTag, map[string]any{"log": "level=warn msg=slow"}))
	if out.Fields["level"] != "warn" || out.Fields["log"] != nil {
		t.Errorf("fields = %v", out.Fields)
	}
	// A parser without a time stamps the record now, as Fluent Bit does.
	if !out.Time.Equal(clock.Now()) {
		t.Errorf("time = %v, want now %v", out.Time, clock.Now())
	}
	wantErrHas(t, newErr(t, Deps{Pods: pods, Parsers: testParsers}, "Name", "kubernetes", "Merge_Parser", "nope"), "kubernetes", "Merge_Parser", "[PARSER]", "nope")
}

func TestKubernetesPodAnnotations(t *testing.T) {
	pod := webPod()
	pod.Annotations = map[string]string{
		"fluentbit.io/parser":             "logfmt",
		"fluentbit.io/exclude_stderr":     "true",
		"fluentbit.io/exclude-sidecar":    "true",
		"fluentbit.io/parser_stdout-web2": "crio",
	}
	pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": pod}}
	deps := Deps{Pods: pods, Parsers: testParsers}
	sidecarTag := "kube.var.log.containers.web-1_default_sidecar-0c2f4e1a-9b3-sidecar-0.log"
	line := func(stream string) map[string]any { return map[string]any{"log": "a=1", "stream": stream} }

	on := mustNew(t, deps, "Name", "kubernetes", "Merge_Log", "On", "K8S-Logging.Parser", "On", "K8S-Logging.Exclude", "On")
	if out := on.Filter(rec(webTag, line("stderr"))); len(out) != 0 {
		t.Error("stderr of an exclude_stderr pod kept")
	}
	if out := on.Filter(rec(sidecarTag, line("stdout"))); len(out) != 0 {
		t.Error("container with exclude-sidecar kept")
	}
	out := one(t, on, rec(webTag, line("stdout")))
	if out.Fields["a"] != "1" {
		t.Errorf("annotated parser not used for the log: %v", out.Fields)
	}

	off := mustNew(t, deps, "Name", "kubernetes", "Merge_Log", "On")
	if got := len(off.Filter(rec(webTag, line("stderr")))); got != 1 {
		t.Error("K8S-Logging.Exclude defaults to Off but the record was dropped")
	}
	if _, ok := one(t, off, rec(webTag, line("stdout"))).Fields["a"]; ok {
		t.Error("K8S-Logging.Parser defaults to Off but the annotated parser ran")
	}
}

func TestKubernetesAcceptsFargoSetKeys(t *testing.T) {
	mustNew(t, Deps{Pods: &fakePods{}}, "Name", "kubernetes", "Match", "kube.*",
		"Use_Kubelet", "true", "Kubelet_Port", "10250", "Kube_URL", "https://kubernetes.default.svc:443",
		"Kube_CA_File", "/var/run/secrets/ca.crt", "Kube_Token_File", "/var/run/secrets/token",
		"Kube_Token_Command", "cat /token", "Buffer_Size", "0", "Kube_Tag_Prefix", "kube.var.log.containers.")
	wantErrHas(t, newErr(t, Deps{Pods: &fakePods{}}, "Name", "kubernetes", "Merge_Log", "sometimes"), "kubernetes", "Merge_Log", "On or Off")
}

func TestContainerHash(t *testing.T) {
	for in, want := range map[string]string{
		"docker-pullable://nginx@sha256:0a1b": "nginx@sha256:0a1b",
		"sha256:0a1b2c":                       "sha256:0a1b2c",
		"docker.io/library/nginx@sha256:0a1b": "docker.io/library/nginx@sha256:0a1b",
		"nocolon":                             "",
	} {
		if got, _ := containerHash(in); got != want {
			t.Errorf("containerHash(%q) = %q, want %q", in, got, want)
		}
	}
}

// tagParser reads tags of the form POD.NAMESPACE.CONTAINER.
type tagParser struct{}

func (tagParser) Parse(text string) (map[string]any, time.Time, bool) {
	parts := strings.Split(text, ".")
	if len(parts) != 3 {
		return nil, time.Time{}, false
	}
	return map[string]any{"pod_name": parts[0], "namespace_name": parts[1], "container_name": parts[2]}, time.Time{}, true
}

func TestKubernetesRegexParserReadsCustomTags(t *testing.T) {
	pods := &fakePods{pods: map[string]*PodMeta{"default/web-1": webPod()}}
	deps := Deps{Pods: pods, Parsers: map[string]logpipe.Parser{"by-dots": tagParser{}}}
	f := mustNew(t, deps, "Name", "kubernetes", "Kube_Tag_Prefix", "app.", "Regex_Parser", "by-dots")
	meta, _ := one(t, f, rec("app.web-1.default.nginx", map[string]any{"log": "x"})).Fields["kubernetes"].(map[string]any)
	if meta["pod_name"] != "web-1" || meta["container_name"] != "nginx" || meta["container_image"] != "nginx:1.25" {
		t.Errorf("kubernetes = %v", meta)
	}
	if _, ok := meta["docker_id"]; ok {
		t.Errorf("docker_id written although the tag has none: %v", meta)
	}
}

// The tag names of every fargo tier, and of a containerd node, give the
// pod, namespace, container and id they were made from.
func TestTagOfEachTier(t *testing.T) {
	k := &kubernetes{tagPrefix: "kube.var.log.containers."}
	id64 := strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct{ tag, container, id string }{
		{"web-1_default_nginx-0c2f4e1a-9b3-nginx-0.log", "nginx", "0c2f4e1a-9b3-nginx-0"},
		{"web-1_default_side-car-0c2f4e1a-9b3-side-car-12.log", "side-car", "0c2f4e1a-9b3-side-car-12"},
		{"web-1_default_nginx-770c40bf25c90c9e.log", "nginx", "770c40bf25c90c9e"},
		{"web-1_default_nginx-" + id64 + ".log", "nginx", id64},
	} {
		m, ok := k.parseTag("kube.var.log.containers." + tc.tag)
		if !ok || m.pod != "web-1" || m.namespace != "default" || m.container != tc.container || m.dockerID != tc.id {
			t.Errorf("tag %s: %+v %v, want container %q id %q", tc.tag, m, ok, tc.container, tc.id)
		}
	}
}
