package filter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// webTag is the tag EKS Fargate's input gives a line of container nginx
// in pod web-1 of namespace default.
const webTag = "kube.var.log.containers.web-1_default_nginx-0c2f4e1a-9b3-nginx-0.log"

// params builds a section from key, value pairs.
func params(kv ...string) logpipe.Params {
	var p logpipe.Params
	for i := 0; i+1 < len(kv); i += 2 {
		p = append(p, logpipe.Param{Key: kv[i], Value: kv[i+1]})
	}
	return p
}

func mustNew(t *testing.T, deps Deps, kv ...string) logpipe.Filter {
	t.Helper()
	f, err := New(params(kv...), deps)
	if err != nil {
		t.Fatalf("New(%v): %v", kv, err)
	}
	return f
}

// newErr builds a filter that must be refused and returns the message.
func newErr(t *testing.T, deps Deps, kv ...string) string {
	t.Helper()
	f, err := New(params(kv...), deps)
	if err == nil {
		t.Fatalf("New(%v) = %T, want an error", kv, f)
	}
	return err.Error()
}

// wantErrHas checks an error message names what a user must fix.
func wantErrHas(t *testing.T, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not mention %q", msg, p)
		}
	}
}

// one runs f on a record and requires exactly one record back.
func one(t *testing.T, f logpipe.Filter, rec logpipe.Record) logpipe.Record {
	t.Helper()
	out := f.Filter(rec)
	if len(out) != 1 {
		t.Fatalf("Filter returned %d records, want 1: %+v", len(out), out)
	}
	return out[0]
}

func rec(tag string, fields map[string]any) logpipe.Record {
	return logpipe.Record{Tag: tag, Time: time.Unix(1700000000, 0).UTC(), Fields: fields}
}

func wantFields(t *testing.T, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields\n got %#v\nwant %#v", got, want)
	}
}

// criParser is the EKS walkthrough's "crio" parser, done by hand:
// "TIME STREAM LOGTAG MESSAGE" gives stream, logtag and log, with TIME as
// the record time (Time_Key time, not kept).
type criParser struct{}

func (criParser) Parse(text string) (map[string]any, time.Time, bool) {
	parts := strings.SplitN(text, " ", 4)
	if len(parts) != 4 || (parts[1] != "stdout" && parts[1] != "stderr") {
		return nil, time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return nil, time.Time{}, false
	}
	return map[string]any{"stream": parts[1], "logtag": parts[2], "log": parts[3]}, t, true
}

// logfmtParser reads "k=v k=v" and gives no time.
type logfmtParser struct{}

func (logfmtParser) Parse(text string) (map[string]any, time.Time, bool) {
	out := map[string]any{}
	for _, f := range strings.Fields(text) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, time.Time{}, false
		}
		out[k] = v
	}
	return out, time.Time{}, len(out) > 0
}

var testParsers = map[string]logpipe.Parser{"crio": criParser{}, "logfmt": logfmtParser{}}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func newClock() *fakeClock                   { return &fakeClock{t: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)} }
func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// fakePods is a PodSource over a fixed set of pods that counts lookups.
type fakePods struct {
	mu    sync.Mutex
	pods  map[string]*PodMeta // "namespace/name"
	err   error
	calls map[string]int
}

func (f *fakePods) Pod(ctx context.Context, namespace, name string) (*PodMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	key := namespace + "/" + name
	f.calls[key]++
	if f.err != nil {
		return nil, f.err
	}
	if p, ok := f.pods[key]; ok {
		return p, nil
	}
	return nil, errors.New(fmt.Sprintf("pod %s not found", key))
}

func (f *fakePods) lookups(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

// webPod is the metadata of pod default/web-1.
func webPod() *PodMeta {
	return &PodMeta{
		UID:         "5f0c2b1e-8f5a-4d0e-9a51-2b7c1c3d4e5f",
		Host:        "fargate-ip-192-168-10-20.eu-west-1.compute.internal",
		Labels:      map[string]string{"app": "web", "eks.amazonaws.com/fargate-profile": "default"},
		Annotations: map[string]string{"CapacityProvisioned": "0.25vCPU 0.5GB"},
		Containers: map[string]ContainerMeta{
			"nginx": {Image: "nginx:1.25", ImageID: "docker.io/library/nginx@sha256:0a1b2c"},
		},
	}
}
