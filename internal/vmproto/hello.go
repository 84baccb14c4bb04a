package vmproto

// Hello opens a connection: the host sends one as soon as it connects and
// the guest answers with its own. The guest's says which boot it is, so a
// host that reconnects knows whether the VM it talked to is still the
// one running.
type Hello struct {
	Version int `json:"version"`
	// BootID is the guest kernel's /proc/sys/kernel/random/boot_id.
	BootID string `json:"bootID,omitempty"`
	// Kernel is the guest's uname release, for the node's status.
	Kernel string `json:"kernel,omitempty"`
}
