// Package vmproto is the small, versioned protocol between a host's
// microVM runtime (internal/sandbox/microvm) and fargo-init, PID 1 in the
// guest. It runs over one byte stream: a virtio-serial port, or vsock
// where the host has /dev/vhost-vsock.
//
// Everything travels in frames (frame.go) that carry a stream ID and a
// kind. The host opens a stream with a Request frame naming an operation
// (one message type per file: setup.go, start.go, exec.go, ...); the guest
// answers on the same stream with a Response, and streaming operations
// (exec, attach, port-forward, image) go on with data frames until an Exit
// frame.
// Stream 0 carries the guest's unsolicited events: container output
// (log.go) and exits (event.go).
//
// The package uses the standard library only, so the guest binary stays
// small and static.
package vmproto

// Version is the protocol version both ends announce in their Hello. A
// peer refuses a Hello of another version: the host then rebuilds the
// guest's initramfs rather than talk to an old fargo-init.
const Version = 1

// SerialPortName is the virtio-serial port's name, which the guest finds
// in /sys/class/virtio-ports/*/name.
const SerialPortName = "fargo.0"

// VsockPort is the guest port fargo-init listens on when the transport is
// vsock.
const VsockPort = 1024
