package guestinit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// addImage takes an image disk the host sends after boot (vmproto.Image):
// the file goes to the scratch disk, a loop device serves it, and it is
// mounted where a boot-time image disk of that serial would be.
func (s *server) addImage(ctx context.Context, st *vmproto.Stream, req vmproto.Request) {
	var b vmproto.Image
	if err := req.Decode(&b); err != nil {
		_ = st.Respond(nil, err)
		return
	}
	if err := plainName("image", b.Serial); err != nil {
		_ = st.Respond(nil, err)
		return
	}
	path := filepath.Join(scratchDir, "images", b.Serial+".erofs")
	f, err := createImageFile(path)
	if err != nil {
		_ = st.Respond(nil, err)
		return
	}
	_ = st.Respond(nil, nil)
	err = receiveImage(ctx, st, f, b.Size)
	if err == nil {
		err = s.mountAddedImage(b.Serial, path)
	}
	if err != nil {
		os.Remove(path)
		_ = st.SendJSON(vmproto.KindExit, vmproto.Exit{Code: 1, Error: "add image " + b.Serial + ": " + err.Error()})
		return
	}
	_ = st.SendJSON(vmproto.KindExit, vmproto.Exit{})
}

func createImageFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
}

// receiveImage writes the Stdin frames into f until EOF, acknowledging
// every vmproto.ImageAckBytes, and checks that size bytes came.
func receiveImage(ctx context.Context, st *vmproto.Stream, f *os.File, size int64) error {
	defer f.Close()
	var written, acked int64
	for {
		fr, err := st.Recv(ctx)
		if err != nil {
			return err
		}
		switch fr.Kind {
		case vmproto.KindStdin:
			n, err := f.Write(fr.Payload)
			written += int64(n)
			if err != nil {
				return err // ENOSPC: the pod's ephemeral storage is full
			}
			for written-acked >= vmproto.ImageAckBytes {
				acked += vmproto.ImageAckBytes
				_ = st.Send(vmproto.KindStdout, nil)
			}
		case vmproto.KindEOF:
			if written != size {
				return fmt.Errorf("got %d bytes of %d", written, size)
			}
			return f.Sync()
		case vmproto.KindCancel:
			return errors.New("cancelled by the host")
		}
	}
}

// mountAddedImage serves path through a read-only loop device and mounts
// it as image serial.
func (s *server) mountAddedImage(serial, path string) error {
	if err := loadModule(filepath.Join(modulesDir, loopModule)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("load the loop driver: %w", err)
	}
	dev, loop, err := attachLoop(path)
	if err != nil {
		return err
	}
	// Autoclear frees the device at its last close: the mount must hold
	// it before this handle goes.
	defer loop.Close()
	dir := filepath.Join(imagesDir, serial)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mountedImg[serial]; ok {
		return nil // added twice: the first one serves
	}
	if err := unix.Mount(dev, dir, "erofs", unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount %s: %w", dev, err)
	}
	s.mountedImg[serial] = dir
	return nil
}

// attachLoop binds a free loop device to file, read-only, and returns
// the device and an open handle of it; the device lets go of the file by
// itself at its last close (autoclear), once unmounted.
func attachLoop(file string) (string, *os.File, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", nil, fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return "", nil, fmt.Errorf("find a free loop device: %w", err)
	}
	dev := fmt.Sprintf("/dev/loop%d", n)
	loop, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return "", nil, err
	}
	backing, err := os.Open(file)
	if err != nil {
		loop.Close()
		return "", nil, err
	}
	defer backing.Close()
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
	if err := unix.IoctlLoopConfigure(int(loop.Fd()), &cfg); err != nil {
		loop.Close()
		return "", nil, fmt.Errorf("configure %s: %w", dev, err)
	}
	return dev, loop, nil
}
