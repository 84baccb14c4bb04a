package guestinit

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// The guest binary stays small and static: the standard library, x/sys
// and fargo's guest packages only.
func TestGuestImportsNoMoreThanItMay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/fargo-dev/fargo/cmd/fargo-init").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"github.com/fargo-dev/fargo/cmd/fargo-init", "github.com/fargo-dev/fargo/internal/guestinit",
		"github.com/fargo-dev/fargo/internal/vmproto"}
	for _, pkg := range strings.Fields(string(out)) {
		if !slices.Contains(allowed, pkg) && !strings.HasPrefix(pkg, "golang.org/x/sys/") {
			t.Errorf("fargo-init imports %s: keep the guest to the standard library and golang.org/x/sys", pkg)
		}
	}
}

func TestUsersResolveAgainstTheImage(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nweb:x:1000:1001::/home/web:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nweb:x:1001:\nextra:x:2000:web\n"), 0o644)
	for _, c := range []struct {
		user      string
		uid, gid  uint32
		groups    []uint32
		home, err string
	}{
		{"", 0, 0, nil, "/root", ""},
		{"web", 1000, 1001, []uint32{2000}, "/home/web", ""},
		{"1000", 1000, 1001, []uint32{2000}, "/home/web", ""},
		{"1234:5", 1234, 5, nil, "/", ""},
		{"web:extra", 1000, 2000, []uint32{2000}, "/home/web", ""},
		{"nobody", 0, 0, nil, "", "unable to find user nobody"},
	} {
		uid, gid, groups, home, err := resolveUser(root, c.user)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.user, err, c.err)
			}
			continue
		}
		if err != nil || uid != c.uid || gid != c.gid || !slices.Equal(groups, c.groups) || home != c.home {
			t.Errorf("%q: %d:%d %v %s %v; want %d:%d %v %s", c.user, uid, gid, groups, home, err, c.uid, c.gid, c.groups, c.home)
		}
	}
}

func TestCapabilitiesStartFromTheDefaultSet(t *testing.T) {
	caps, err := capSet([]string{"NET_ADMIN"}, []string{"NET_RAW"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(caps, uint(unix.CAP_NET_ADMIN)) || slices.Contains(caps, uint(unix.CAP_NET_RAW)) || !slices.Contains(caps, uint(unix.CAP_CHOWN)) {
		t.Errorf("caps %v: want the defaults with NET_ADMIN and without NET_RAW", caps)
	}
	if caps, _ := capSet(nil, []string{"ALL"}); len(caps) != 0 {
		t.Errorf("drop ALL left %v", caps)
	}
	if _, err := capSet([]string{"FLY"}, nil); err == nil {
		t.Error("an unknown capability was accepted")
	}
}

// A volume update replaces the atomic writer's symlinks in place: old
// data goes, new data appears, the directory stays.
func TestVolumeTreeSwapsWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	tree := func(ts, value string) []vmproto.FileEntry {
		return []vmproto.FileEntry{
			{Path: ts, Dir: true, Mode: 0o755},
			{Path: ts + "/greeting", Mode: 0o644, Data: []byte(value)},
			{Path: "..data", Link: ts},
			{Path: "greeting", Link: "..data/greeting"},
		}
	}
	if err := applyTree(dir, tree("..2026_1", "before")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(dir)
	if err := applyTree(dir, tree("..2026_2", "after")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "greeting")); err != nil || string(b) != "after" {
		t.Errorf("greeting %q %v, want after", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "..2026_1")); !os.IsNotExist(err) {
		t.Errorf("the old data stayed: %v", err)
	}
	if after, _ := os.Stat(dir); !os.SameFile(before, after) {
		t.Error("the volume directory was replaced; containers' bind mounts would lose it")
	}
}
