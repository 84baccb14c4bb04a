package vmproto

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// Kind says what a frame carries.
type Kind uint8

const (
	KindHello    Kind = 1  // JSON Hello, both ways, first on a connection
	KindRequest  Kind = 2  // JSON Request, host to guest; opens a stream
	KindResponse Kind = 3  // JSON Response, guest to host
	KindStdin    Kind = 4  // raw bytes to a process (or to a forwarded port)
	KindStdout   Kind = 5  // raw bytes from a process (or from a port)
	KindStderr   Kind = 6  // raw bytes from a process
	KindEOF      Kind = 7  // no more Stdin on this stream
	KindResize   Kind = 8  // JSON Resize, host to guest
	KindExit     Kind = 9  // JSON Exit, guest to host; ends a stream
	KindEvent    Kind = 10 // JSON Event on stream 0, guest to host
	KindLog      Kind = 11 // binary Log on stream 0, guest to host
	KindCancel   Kind = 12 // host to guest: stop what the stream runs
)

// headerSize is a frame's header: stream ID (4 bytes), kind (1), payload
// length (4), all big-endian.
const headerSize = 9

// MaxFrame bounds a whole frame. A virtio-serial write moves at most
// 32 KiB at once; a frame that fits is written whole or, while the host
// is not connected, dropped whole, so the stream never desynchronises.
const MaxFrame = 32 << 10

// MaxPayload is the most one frame carries.
const MaxPayload = MaxFrame - headerSize

// Frame is one message on the wire.
type Frame struct {
	Stream  uint32
	Kind    Kind
	Payload []byte
}

// JSON decodes the payload into v.
func (f Frame) JSON(v any) error {
	if err := json.Unmarshal(f.Payload, v); err != nil {
		return fmt.Errorf("vmproto: decode kind %d payload: %w", f.Kind, err)
	}
	return nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (Frame, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(h[5:])
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("vmproto: frame of %d bytes is over the %d limit: the peer is not speaking vmproto %d", n, MaxPayload, Version)
	}
	f := Frame{Stream: binary.BigEndian.Uint32(h[:4]), Kind: Kind(h[4]), Payload: make([]byte, n)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// WriteFrame writes f with one Write call, so a frame is never split.
func WriteFrame(w io.Writer, f Frame) error {
	if len(f.Payload) > MaxPayload {
		return fmt.Errorf("vmproto: payload of %d bytes is over the %d limit", len(f.Payload), MaxPayload)
	}
	buf := make([]byte, headerSize+len(f.Payload))
	binary.BigEndian.PutUint32(buf[:4], f.Stream)
	buf[4] = byte(f.Kind)
	binary.BigEndian.PutUint32(buf[5:9], uint32(len(f.Payload)))
	copy(buf[headerSize:], f.Payload)
	_, err := w.Write(buf)
	return err
}
