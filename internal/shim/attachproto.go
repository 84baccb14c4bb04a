package shim

import (
	"encoding/binary"
	"errors"
	"strings"
)

// The attach protocol connects a client (the node agent, serving
// `kubectl attach`) to a running container's main process through its
// shim, which owns the process's stdio and so outlives any agent.
//
// Transport: a SOCK_SEQPACKET unix socket, AttachSocketName in the
// shim's working directory (the container's directory). Every packet is
// one message; none is larger than MaxAttachPacket. Its path may be
// longer than a sockaddr holds: clients open the directory and connect
// to /proc/self/fd/N/attach.sock.
//
// Version line: the client's first packet is one line,
//
//	fargo-attach 1[ stdin]\n
//
// ("stdin": the client will send stdin). The shim answers with one line,
// "ok" followed by what the container has: " tty", " stdin" (its stdin
// is open), " stdin-once", then "\n"; or "error MESSAGE\n" and closes.
// A future version changes the number; a shim refuses numbers it does
// not know.
//
// After the version lines, each packet is a kind byte and a payload:
//
//	client → shim: AttachStdin + bytes, AttachCloseStdin (the client's
//	               stdin ended), AttachResize + width and height (two
//	               big-endian uint16)
//	shim → client: AttachStdout + bytes, AttachStderr + bytes (with a
//	               terminal, everything is AttachStdout)
//
// The shim sends what the container writes from the moment the client
// is accepted, and closes the connection once the container has exited
// and its output is sent. The client detaches by closing.
const (
	AttachSocketName = "attach.sock"
	AttachVersion    = "fargo-attach 1"
	// MaxAttachPacket bounds a packet, kind byte included.
	MaxAttachPacket = 32<<10 + 1
)

// Packet kinds.
const (
	AttachStdin      byte = 0
	AttachStdout     byte = 1
	AttachStderr     byte = 2
	AttachCloseStdin byte = 3
	AttachResize     byte = 4
)

// AttachHello is the client's first packet.
func AttachHello(stdin bool) []byte {
	if stdin {
		return []byte(AttachVersion + " stdin\n")
	}
	return []byte(AttachVersion + "\n")
}

// AttachInfo is what the shim's answer says of the container.
type AttachInfo struct {
	TTY, Stdin, StdinOnce bool
}

func (i AttachInfo) answer() []byte {
	s := "ok"
	for _, f := range []struct {
		on   bool
		word string
	}{{i.TTY, " tty"}, {i.Stdin, " stdin"}, {i.StdinOnce, " stdin-once"}} {
		if f.on {
			s += f.word
		}
	}
	return []byte(s + "\n")
}

// ParseAttachAnswer reads the shim's answer packet.
func ParseAttachAnswer(p []byte) (AttachInfo, error) {
	line := strings.TrimSuffix(string(p), "\n")
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return AttachInfo{}, errors.New(msg)
	}
	words := strings.Fields(line)
	if len(words) == 0 || words[0] != "ok" {
		return AttachInfo{}, errors.New("attach: the shim's answer " + strings.TrimSpace(line) + " is not in " + AttachVersion)
	}
	var info AttachInfo
	for _, w := range words[1:] {
		switch w {
		case "tty":
			info.TTY = true
		case "stdin":
			info.Stdin = true
		case "stdin-once":
			info.StdinOnce = true
		}
	}
	return info, nil
}

// parseAttachHello checks a client's first packet and says whether it
// sends stdin.
func parseAttachHello(p []byte) (stdin bool, err error) {
	words := strings.Fields(string(p))
	if len(words) < 2 || words[0]+" "+words[1] != AttachVersion {
		return false, errors.New("unsupported attach protocol " + strings.TrimSpace(string(p)) + ": this shim speaks " + AttachVersion)
	}
	for _, w := range words[2:] {
		stdin = stdin || w == "stdin"
	}
	return stdin, nil
}

// AttachResizePacket encodes a terminal size.
func AttachResizePacket(width, height uint16) []byte {
	p := []byte{AttachResize, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(p[1:], width)
	binary.BigEndian.PutUint16(p[3:], height)
	return p
}

// parseResize decodes an AttachResize payload.
func parseResize(payload []byte) (width, height uint16, ok bool) {
	if len(payload) != 4 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:]), true
}
