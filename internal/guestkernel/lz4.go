package guestkernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// lz4Legacy starts the LZ4 legacy frame a Debian bzImage carries its
// kernel in (CONFIG_KERNEL_LZ4).
var lz4Legacy = []byte{0x02, 0x21, 0x4c, 0x18}

// elfMagic starts the vmlinux inside.
var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// Vmlinux unpacks the ELF kernel from a bzImage compressed with LZ4, the
// way the kernel's extract-vmlinux script does: find the frame, inflate
// it, check it is ELF.
func Vmlinux(bzImage []byte) ([]byte, error) {
	for off := 0; ; {
		i := bytes.Index(bzImage[off:], lz4Legacy)
		if i < 0 {
			return nil, errors.New("guestkernel: no LZ4 kernel in the image: pass an uncompressed vmlinux with --guest-kernel")
		}
		off += i
		out, err := inflateLegacy(bzImage[off+len(lz4Legacy):])
		if err == nil && bytes.HasPrefix(out, elfMagic) {
			return out, nil
		}
		off++
	}
}

// inflateLegacy reads legacy-frame blocks (a little-endian compressed
// size, then an LZ4 block) until what follows is not a block: the
// bzImage's trailing size, or the end.
func inflateLegacy(in []byte) ([]byte, error) {
	var out []byte
	for len(in) >= 4 {
		n := int(binary.LittleEndian.Uint32(in))
		if n == 0 || n > len(in)-4 || bytes.Equal(in[:4], lz4Legacy) {
			break
		}
		var err error
		if out, err = inflateBlock(out, in[4:4+n]); err != nil {
			return nil, err
		}
		in = in[4+n:]
	}
	if len(out) == 0 {
		return nil, errors.New("guestkernel: empty LZ4 frame")
	}
	return out, nil
}

// inflateBlock appends one LZ4 block's content to out. Matches may reach
// back into earlier blocks' output, which legacy frames allow.
func inflateBlock(out, in []byte) ([]byte, error) {
	for i := 0; i < len(in); {
		token := in[i]
		i++
		lit, j, err := length(in, i, int(token>>4))
		if err != nil {
			return nil, err
		}
		i = j
		if i+lit > len(in) {
			return nil, errors.New("guestkernel: LZ4 literals run past the block")
		}
		out = append(out, in[i:i+lit]...)
		i += lit
		if i == len(in) {
			break // the last sequence has literals only
		}
		if i+2 > len(in) {
			return nil, errors.New("guestkernel: LZ4 block ends inside an offset")
		}
		offset := int(binary.LittleEndian.Uint16(in[i:]))
		i += 2
		match, j, err := length(in, i, int(token&15))
		if err != nil {
			return nil, err
		}
		i = j
		match += 4
		if offset == 0 || offset > len(out) {
			return nil, fmt.Errorf("guestkernel: LZ4 offset %d outside the %d bytes out", offset, len(out))
		}
		start := len(out) - offset
		if offset >= match {
			out = append(out, out[start:start+match]...)
			continue
		}
		for k := 0; k < match; k++ { // byte by byte: the match overlaps itself
			out = append(out, out[start+k])
		}
	}
	return out, nil
}

// length reads a length whose nibble is n, extended by bytes of 255.
func length(in []byte, i, n int) (int, int, error) {
	if n != 15 {
		return n, i, nil
	}
	for {
		if i >= len(in) {
			return 0, i, errors.New("guestkernel: LZ4 length runs past the block")
		}
		b := in[i]
		i++
		n += int(b)
		if b != 255 {
			return n, i, nil
		}
	}
}
