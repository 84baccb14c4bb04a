package vmproto

// Setup prepares the guest for the pod, once per boot, before any Start:
// its network, hostname and the pod-wide files. Repeating it is harmless.
type Setup struct {
	Hostname string `json:"hostname"`
	// Address is the pod's IP with its prefix length ("10.0.1.5/24") on
	// the guest's eth0, whose MAC the host chose; Gateway its default
	// route; MTU the link's MTU.
	Address string `json:"address"`
	Gateway string `json:"gateway"`
	MTU     int    `json:"mtu,omitempty"`
	// Files are pod-wide files (/etc/hosts, /etc/hostname,
	// /etc/resolv.conf) that every container gets at the key's path.
	Files map[string][]byte `json:"files,omitempty"`
	// ScratchSerial is the serial of the pod's scratch disk, which holds
	// the containers' writable layers and emptyDir volumes.
	ScratchSerial string `json:"scratchSerial"`
	// MemoryBytes is the pod's provisioned memory; the guest's containers
	// are limited to it less what the guest kernel and fargo-init need.
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
	// Now is the host's clock as it sent the request (Unix nanoseconds):
	// the guest's clock starts from the RTC's whole seconds, and a
	// container's start and finish times must read like the host's.
	Now int64 `json:"now,omitempty"`
}
