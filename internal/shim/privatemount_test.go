package shim

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// TestStartWithoutHidesAMountFromTheCommandOnly: the command does not see
// the mount; this process still does, on every thread, also after many
// starts (one of which runs on the main thread, which /proc/self shows).
func TestStartWithoutHidesAMountFromTheCommandOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: mount namespaces need root")
	}
	hidden := t.TempDir()
	if err := unix.Mount("tmpfs", hidden, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(hidden, unix.MNT_DETACH) })
	ownNS, _ := os.Readlink("/proc/self/ns/mnt")

	out, _ := exec.Command("grep", "-c", " "+hidden+" ", "/proc/self/mountinfo").Output()
	if got := strings.TrimSpace(string(out)); got != "1" {
		t.Fatalf("started as usual, the command sees %s mounted %s times, want 1", hidden, got)
	}
	cmd := exec.Command("grep", "-c", " "+hidden+" ", "/proc/self/mountinfo")
	var buf strings.Builder
	cmd.Stdout = &buf
	if err := StartWithout(cmd, []string{hidden}); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if got := strings.TrimSpace(buf.String()); got != "0" {
		t.Errorf("the command started without %s sees it %s times, want 0", hidden, got)
	}

	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if err := RunWithout(exec.Command("true"), []string{hidden}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if mounted, err := mountinfo.Mounted(hidden); err != nil || !mounted {
		t.Errorf("after 64 starts, this process no longer sees %s mounted (%v)", hidden, err)
	}
	if ns, _ := os.Readlink("/proc/self/ns/mnt"); ns != ownNS {
		t.Errorf("after 64 starts, /proc/self is in mount namespace %s, want the process's %s", ns, ownNS)
	}
}
