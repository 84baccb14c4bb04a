package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

func TestGCPolicyVictims(t *testing.T) {
	now := time.Now()
	layer := func(name string, size int64, age time.Duration, inUse bool) layerInfo {
		return layerInfo{diffID: v1.Hash{Algorithm: "sha256", Hex: name}, size: size, lastUsed: now.Add(-age), inUse: inUse}
	}
	layers := []layerInfo{
		layer("used-old", 100, 30*24*time.Hour, true),
		layer("old", 10, 10*24*time.Hour, false),
		layer("week", 10, 3*24*time.Hour, false),
		layer("hour", 50, time.Hour, false),
		layer("fresh", 50, time.Minute, false),
	}
	tests := []struct {
		name   string
		policy GCPolicy
		want   []string
	}{
		{"within limits", GCPolicy{MaxSize: 1000, MaxUnused: 7 * 24 * time.Hour, MinAge: 10 * time.Minute}, []string{"old"}},
		{"over size: least recently used first until it fits", GCPolicy{MaxSize: 170, MinAge: 10 * time.Minute}, []string{"old", "week", "hour"}},
		{"never what is in use or fresh", GCPolicy{MaxSize: 1, MinAge: 10 * time.Minute}, []string{"old", "week", "hour"}},
		{"no limits", GCPolicy{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range tt.policy.victims(layers, now) {
				got = append(got, v.diffID.Hex)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("victims %v, want %v", got, tt.want)
			}
		})
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestCollectRemovesUnusedLayerKeepsUsed pulls two images sharing a base
// layer; with only the first in use and a size limit of one byte, the
// collector removes the second's own layer and nothing of the first.
func TestCollectRemovesUnusedLayerKeepsUsed(t *testing.T) {
	reg := newTestRegistry(t)
	a, b := images(t)
	reg.push(t, a, "app:a")
	reg.push(t, b, "app:b")
	p := newPuller(t, PullerConfig{})
	ctx := context.Background()
	imgA, err := p.Pull(ctx, reg.host+"/app:a", nil)
	if err != nil {
		t.Fatal(err)
	}
	imgB, err := p.Pull(ctx, reg.host+"/app:b", nil)
	if err != nil {
		t.Fatal(err)
	}
	onlyB := imgB.Layers[1]
	if imgA.Layers[0] != imgB.Layers[0] || onlyB == imgA.Layers[1] {
		t.Fatalf("test images should share exactly their base layer: %v, %v", imgA.Layers, imgB.Layers)
	}

	stats, err := p.store.Collect(GCPolicy{MaxSize: 1}, []string{reg.host + "/app:a"})
	if err != nil {
		t.Fatal(err)
	}
	if exists(onlyB) {
		t.Errorf("unused layer %s is still there", onlyB)
	}
	for _, l := range imgA.Layers {
		if !exists(l) {
			t.Errorf("layer %s of the image in use was removed", l)
		}
	}
	if stats.Freed != 1 || stats.Layers != 2 || stats.InUse != 2 || stats.FreedBytes <= 0 || stats.InUseBytes != stats.Bytes {
		t.Errorf("stats %+v, want 1 layer freed, 2 left, both in use", stats)
	}
	if _, err := p.store.Get(reg.host + "/app:b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of the collected image = %v, want ErrNotFound so it is pulled again", err)
	}
	if _, err := p.store.Get(reg.host + "/app:a"); err != nil {
		t.Errorf("Get of the image in use: %v", err)
	}
	// The CLI's view agrees with what the collector returned.
	seen, err := CacheStatus(p.store.root)
	if err != nil {
		t.Fatal(err)
	}
	if seen.Layers != stats.Layers || seen.Bytes != stats.Bytes || seen.Freed != 1 || seen.LastCollection.IsZero() {
		t.Errorf("CacheStatus %+v, collector said %+v", seen, stats)
	}
	// A pull brings the collected layer back.
	if _, err := p.Pull(ctx, reg.host+"/app:b", nil); err != nil || !exists(onlyB) {
		t.Errorf("pull after collection: %v, layer there: %v", err, exists(onlyB))
	}
}

func TestCollectKeepsRecentlyHandedOutLayers(t *testing.T) {
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:a")
	p := newPuller(t, PullerConfig{})
	img, err := p.Pull(context.Background(), reg.host+"/app:a", nil)
	if err != nil {
		t.Fatal(err)
	}
	// No pod uses it yet, but its pull was a moment ago: its container
	// is about to mount it.
	stats, err := p.store.Collect(GCPolicy{MaxSize: 1, MinAge: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range img.Layers {
		if !exists(l) {
			t.Errorf("layer %s pulled a moment ago was removed", l)
		}
	}
	if stats.Freed != 0 || stats.Layers != 2 {
		t.Errorf("stats %+v, want 2 layers kept", stats)
	}
}

// TestCollectSkipsLayerHandedOutMeanwhile: a layer the collector chose is
// kept when a Get hands it out before the collector removes it.
func TestCollectSkipsLayerHandedOutMeanwhile(t *testing.T) {
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:a")
	p := newPuller(t, PullerConfig{})
	img, err := p.Pull(context.Background(), reg.host+"/app:a", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: filepath.Base(img.Layers[0])}
	chosen := layerInfo{diffID: d, lastUsed: time.Now().Add(-time.Hour)}
	if _, err := p.store.Get(reg.host + "/app:a"); err != nil {
		t.Fatal(err)
	}
	removed, err := p.store.removeLayer(chosen)
	if err != nil || removed || !exists(img.Layers[0]) {
		t.Fatalf("removeLayer = %v, %v; layer there: %v; want it kept", removed, err, exists(img.Layers[0]))
	}
}

// TestCollectKeepsMountedLayer mounts a pulled image as a container root
// is mounted: with no pod listed as using it, the mount alone keeps its
// layers, and once unmounted they go.
func TestCollectKeepsMountedLayer(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	a, _ := images(t)
	reg.push(t, a, "app:a")
	p := newPuller(t, PullerConfig{})
	img, err := p.Pull(context.Background(), reg.host+"/app:a", nil)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	upper, wdir, merged := filepath.Join(work, "upper"), filepath.Join(work, "work"), filepath.Join(work, "merged")
	for _, d := range []string{upper, wdir, merged} {
		os.Mkdir(d, 0o755)
	}
	opts := "lowerdir=" + strings.Join([]string{img.Layers[1], img.Layers[0]}, ":") + ",upperdir=" + upper + ",workdir=" + wdir
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("skipping: this machine cannot mount overlayfs here: %v", err)
	}
	mounted := true
	defer func() {
		if mounted {
			unix.Unmount(merged, unix.MNT_DETACH)
		}
	}()
	stats, err := p.store.Collect(GCPolicy{MaxSize: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range img.Layers {
		if !exists(l) {
			t.Errorf("layer %s of a mounted root was removed", l)
		}
	}
	if stats.InUse != 2 || stats.Freed != 0 {
		t.Errorf("stats %+v, want both layers in use and kept", stats)
	}
	if err := unix.Unmount(merged, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if stats, err = p.store.Collect(GCPolicy{MaxSize: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if stats.Freed != 2 || exists(img.Layers[0]) || exists(img.Layers[1]) {
		t.Errorf("after unmount: stats %+v, layers there: %v %v", stats, exists(img.Layers[0]), exists(img.Layers[1]))
	}
}

func TestLowerDirs(t *testing.T) {
	tests := []struct {
		opts string
		want []string
	}{
		{"rw,lowerdir=/a/l2:/a/l1,upperdir=/u,workdir=/w,index=off", []string{"/a/l2", "/a/l1"}},
		{"rw,lowerdir+=/a/l2,lowerdir+=/a/l1,datadir+=/a/d,upperdir=/u", []string{"/a/l2", "/a/l1", "/a/d"}},
		{"rw,lowerdir=/a/l1::/a/d", []string{"/a/l1", "/a/d"}},
		{"rw,relatime", nil},
	}
	for _, tt := range tests {
		if got := lowerDirs(tt.opts); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("lowerDirs(%q) = %v, want %v", tt.opts, got, tt.want)
		}
	}
}
