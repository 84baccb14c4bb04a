package vmdisk

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to mount (CI runs as root)")
	}
	if _, err := exec.LookPath("mkfs.erofs"); err != nil {
		t.Skip("skipped: mkfs.erofs is not installed (apt-get install erofs-utils)")
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func TestImageDiskIsTheMergedTree(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	low, top := filepath.Join(dir, "low"), filepath.Join(dir, "top")
	writeFile(t, filepath.Join(low, "etc/kept"), "low\n", 0o644)
	writeFile(t, filepath.Join(low, "etc/overwritten"), "low\n", 0o644)
	writeFile(t, filepath.Join(low, "etc/deleted"), "low\n", 0o644)
	writeFile(t, filepath.Join(low, "secret"), "mine\n", 0o600)
	os.Chown(filepath.Join(low, "secret"), 1000, 1000)
	writeFile(t, filepath.Join(top, "etc/overwritten"), "top\n", 0o644)
	if err := unix.Mknod(filepath.Join(top, "etc/deleted"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	os.Symlink("etc/kept", filepath.Join(top, "link"))

	cache := filepath.Join(dir, "cache")
	path, err := ImageDisk(context.Background(), cache, []string{low, top})
	if err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-t", "erofs", "-o", "loop,ro", path, mnt).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount erofs here to check it: %v %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	for name, want := range map[string]string{"etc/kept": "low\n", "etc/overwritten": "top\n", "link": "low\n", "secret": "mine\n"} {
		b, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(mnt, "etc/deleted")); !os.IsNotExist(err) {
		t.Errorf("the whited-out file is in the image: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(mnt, "secret"), &st); err != nil || st.Uid != 1000 || st.Mode&0o777 != 0o600 {
		t.Errorf("secret owner %d mode %o, want 1000 and 600 (%v)", st.Uid, st.Mode&0o777, err)
	}

	info, _ := os.Stat(path)
	again, err := ImageDisk(context.Background(), cache, []string{low, top})
	if err != nil || again != path {
		t.Fatalf("second build: %s, %v", again, err)
	}
	if info2, _ := os.Stat(again); !os.SameFile(info, info2) {
		t.Error("the same layers were built again")
	}
}

func TestScratchDiskIsSparseExt4(t *testing.T) {
	requireRoot(t)
	path := filepath.Join(t.TempDir(), "scratch.img")
	start := time.Now()
	if err := ScratchDisk(path, 20<<30); err != nil {
		t.Fatal(err)
	}
	t.Logf("20 GiB scratch disk made in %v", time.Since(start))
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 20<<30 || st.Blocks*512 > 64<<20 {
		t.Errorf("size %d, %d MiB allocated; want 20 GiB sparse", st.Size, st.Blocks*512>>20)
	}
	out, err := exec.Command("blkid", "-o", "value", "-s", "TYPE", path).Output()
	if err != nil || strings.TrimSpace(string(out)) != "ext4" {
		t.Errorf("blkid says %q, %v; want ext4", out, err)
	}
}

func TestPruneKeepsWhatVMsUseAndDropsWhatIsGone(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	var layers, disks []string
	for _, name := range []string{"a", "b", "c"} {
		l := filepath.Join(dir, name)
		writeFile(t, filepath.Join(l, "file"), name, 0o644)
		d, err := ImageDisk(context.Background(), cache, []string{l})
		if err != nil {
			t.Fatal(err)
		}
		layers, disks = append(layers, l), append(disks, d)
	}
	// a's and b's images leave the host; a VM still runs a.
	os.RemoveAll(layers[0])
	os.RemoveAll(layers[1])
	n, err := Prune(cache, map[string]bool{disks[0]: true}, 0)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	for i, want := range []bool{true, false, true} {
		if _, err := os.Stat(disks[i]); (err == nil) != want {
			t.Errorf("disk %d exists %v, want %v", i, err == nil, want)
		}
	}
	// c is unused for longer than allowed.
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(disks[2], old, old)
	if n, _ := Prune(cache, nil, time.Hour); n != 2 {
		t.Errorf("pruned %d, want a (no VM now) and c (unused)", n)
	}
}
