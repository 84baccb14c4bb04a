package microvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fargo-dev/fargo/internal/vmproto"
)

// imageSerial is the serial under which pod p's guest has the image of
// layers: one of the disks it booted with, or one added now. A VM's disks
// are fixed at boot, so an image that comes later (a container whose
// image was changed) is sent over the channel as the same erofs disk, and
// the guest serves it from its scratch disk.
func (r *Runtime) imageSerial(ctx context.Context, p *pod, layers []string) (string, error) {
	key := layersKey(layers)
	p.adding.Lock() // one add at a time: a second asker finds it added
	defer p.adding.Unlock()
	p.mu.Lock()
	serial, ok := p.rec.Images[key]
	p.mu.Unlock()
	if ok {
		return serial, nil
	}
	disk, err := r.cfg.ImageDisk(ctx, layers)
	if err != nil {
		return "", err
	}
	serial = serialFor(key)
	if err := r.sendImage(ctx, p.uid, serial, disk); err != nil {
		return "", fmt.Errorf("microvm: adding an image to the running VM: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rec.Images[key] = serial
	return serial, writeRecord(p.dir, p.rec)
}

// sendImage streams the disk at path to the guest as image serial
// (vmproto.Image), keeping within the guest's acknowledged window.
func (r *Runtime) sendImage(ctx context.Context, uid, serial, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	st, err := r.open(ctx, uid, vmproto.OpImage, vmproto.Image{Serial: serial, Size: info.Size()})
	if err != nil {
		return err
	}
	defer st.Close()
	buf := make([]byte, vmproto.MaxPayload)
	var sent, acked int64
	for {
		for sent-acked >= vmproto.ImageWindowBytes {
			if done, err := nextAck(ctx, st); err != nil || done {
				return errors.Join(err, errors.New("the guest ended the transfer early"))
			}
			acked += vmproto.ImageAckBytes
		}
		n, err := f.Read(buf)
		if n > 0 {
			if err := st.Send(vmproto.KindStdin, buf[:n]); err != nil {
				return err
			}
			sent += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = st.Send(vmproto.KindCancel, nil)
			return err
		}
	}
	if err := st.Send(vmproto.KindEOF, nil); err != nil {
		return err
	}
	for {
		if done, err := nextAck(ctx, st); err != nil || done {
			return err
		}
	}
}

// nextAck reads the guest's next frame of an image transfer: an
// acknowledgement, or its Exit (done), which carries the guest's error
// when the image could not be added.
func nextAck(ctx context.Context, st *vmproto.Stream) (done bool, err error) {
	f, err := st.Recv(ctx)
	if err != nil {
		return false, err
	}
	switch f.Kind {
	case vmproto.KindStdout:
		return false, nil
	case vmproto.KindExit:
		var exit vmproto.Exit
		if err := f.JSON(&exit); err != nil {
			return true, err
		}
		if exit.Error != "" {
			return true, errors.New(exit.Error)
		}
		return true, nil
	}
	return false, fmt.Errorf("unexpected frame kind %d while adding an image", f.Kind)
}
