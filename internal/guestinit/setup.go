package guestinit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// doSetup makes the guest the pod's: hostname, network, scratch disk and
// pod files. Repeating it changes nothing that is already right.
func (s *server) doSetup(b vmproto.Setup) error {
	s.mu.Lock()
	done := s.setup != nil
	s.mu.Unlock()
	if done {
		return nil
	}
	if b.Now != 0 {
		// The channel's latency (a millisecond) is the clocks' offset now.
		ts := unix.NsecToTimespec(b.Now)
		if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
			return fmt.Errorf("set the clock: %w", err)
		}
	}
	if err := unix.Sethostname([]byte(b.Hostname)); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	if err := configureNetwork(b.Address, b.Gateway, b.MTU); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	dev, err := diskBySerial(b.ScratchSerial, 5*time.Second)
	if err != nil {
		return err
	}
	if err := unix.Mount(dev, scratchDir, "ext4", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("mount scratch disk %s: %w", dev, err)
	}
	for _, d := range []string{"containers", "volumes"} {
		if err := os.MkdirAll(filepath.Join(scratchDir, d), 0o755); err != nil {
			return err
		}
	}
	for name, data := range b.Files {
		if err := os.WriteFile(podFilePath(name), data, 0o644); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.setup = &b
	s.mu.Unlock()
	return nil
}

// podFilePath is where pod file name (/etc/hosts) is kept.
func podFilePath(name string) string {
	return filepath.Join(podFilesDir, strings.ReplaceAll(strings.Trim(name, "/"), "/", "_"))
}

// diskBySerial is the /dev node of the virtio-blk disk with serial.
func diskBySerial(serial string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		paths, _ := filepath.Glob("/sys/block/vd*/serial")
		for _, p := range paths {
			b, _ := os.ReadFile(p)
			if strings.TrimSpace(string(b)) == serial {
				return "/dev/" + filepath.Base(filepath.Dir(p)), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no disk with serial %q in the guest", serial)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// imageRoot mounts the image disk with serial (once) and returns where.
func (s *server) imageRoot(serial string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir, ok := s.mountedImg[serial]; ok {
		return dir, nil
	}
	dev, err := diskBySerial(serial, 5*time.Second)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(imagesDir, serial)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var mountErr error
	for _, fs := range []string{"erofs", "ext4"} {
		if mountErr = unix.Mount(dev, dir, fs, unix.MS_RDONLY, ""); mountErr == nil {
			s.mountedImg[serial] = dir
			return dir, nil
		}
	}
	return "", fmt.Errorf("mount image disk %s: %w", dev, mountErr)
}
