package logpipe

import (
	"reflect"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, tag string
		want         bool
	}{
		{"*", "kube.var.log.containers.a_b_c-1.log", true},
		{"kube.*", "kube.var.log.containers.a_b_c-1.log", true},
		{"kube.*", "app.x", false},
		{"kube.*.log", "kube.var.log.containers.a.log", true},
		{"kube.*.log", "kube.var.log.containers.a.txt", false},
		{"app", "app", true},
		{"app", "apps", false},
		{"*_default_*", "kube.var.log.containers.web_default_nginx-1.log", true},
	} {
		if got := Match(tc.pattern, tc.tag); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.tag, got, tc.want)
		}
	}
}

func TestAccessor(t *testing.T) {
	fields := map[string]any{"log": "x", "kubernetes": map[string]any{"labels": map[string]any{"app": "web"}}}
	a, err := ParseAccessor(`$kubernetes['labels']["app"]`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, Accessor{"kubernetes", "labels", "app"}) {
		t.Fatalf("parsed %q", a)
	}
	if v, ok := a.Text(fields); !ok || v != "web" {
		t.Fatalf("Text = %q %v", v, ok)
	}
	b, _ := ParseAccessor("$new['deep']")
	b.Set(fields, 1.5)
	if v, _ := b.Text(fields); v != "1.5" {
		t.Fatalf("set then read = %q", v)
	}
	b.Delete(fields)
	if _, ok := b.Get(fields); ok {
		t.Fatal("deleted value still there")
	}
	for _, bad := range []string{"$", "$a[b]", "$a['b'", ""} {
		if _, err := ParseAccessor(bad); err == nil {
			t.Errorf("ParseAccessor(%q) took it", bad)
		}
	}
}

func TestParamsUnits(t *testing.T) {
	p := Params{{"Mem_Buf_Limit", "5MB"}, {"Kube_Meta_Cache_TTL", "300s"}, {"merge_log", "On"}, {"Refresh", "30m"}}
	if n, _ := p.Size("mem_buf_limit", 0); n != 5<<20 {
		t.Errorf("size = %d", n)
	}
	if d, _ := p.Duration("kube_meta_cache_ttl", 0); d != 300*time.Second {
		t.Errorf("ttl = %v", d)
	}
	if d, _ := p.Duration("refresh", 0); d != 30*time.Minute {
		t.Errorf("refresh = %v", d)
	}
	if b, err := p.Bool("Merge_Log", false); !b || err != nil {
		t.Errorf("bool = %v %v", b, err)
	}
	if _, err := (Params{{"x", "maybe"}}).Bool("x", false); err == nil {
		t.Error("maybe taken as a bool")
	}
}

func TestCloneIsDeep(t *testing.T) {
	r := Record{Fields: map[string]any{"k": map[string]any{"a": "1"}}}
	c := r.Clone()
	c.Fields["k"].(map[string]any)["a"] = "2"
	if r.Fields["k"].(map[string]any)["a"] != "1" {
		t.Fatal("clone shares nested maps")
	}
}
