package vmproto

// Start runs one container attempt. Its output comes back as Log frames
// on stream 0 and its end as an Event.
type Start struct {
	// ID is unique per attempt; Name and Attempt are the container's name
	// in the pod spec and its run count.
	ID      string `json:"id"`
	Name    string `json:"name"`
	Attempt int    `json:"attempt"`
	// ImageSerial is the serial of the read-only disk holding the image's
	// root filesystem (erofs or ext4). The container's root is an overlay
	// over it with a writable layer on the scratch disk.
	ImageSerial string   `json:"imageSerial"`
	Args        []string `json:"args"`
	Env         []string `json:"env,omitempty"`
	WorkingDir  string   `json:"workingDir,omitempty"`
	// User is "UID" or "UID:GID", or a name resolved in the image.
	User   string  `json:"user,omitempty"`
	Mounts []Mount `json:"mounts,omitempty"`
	// MemoryLimitBytes and MilliCPULimit are the container's own limits,
	// zero for none.
	MemoryLimitBytes int64 `json:"memoryLimitBytes,omitempty"`
	MilliCPULimit    int64 `json:"milliCPULimit,omitempty"`
	// Stdin keeps stdin open for Attach; StdinOnce closes it when the
	// first attached client goes; TTY gives the process a terminal.
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
	TTY       bool `json:"tty,omitempty"`
	// TerminationMessagePath is where the guest puts an empty, writable
	// file whose end becomes the exited attempt's termination message.
	TerminationMessagePath string   `json:"terminationMessagePath,omitempty"`
	Security               Security `json:"security"`
}

// Mount places a guest path in the container. Source is a volume made by
// a Files request (its Volume name) or a pod file (Setup.Files key).
type Mount struct {
	// Volume names a Files volume; SubPath is a path inside it.
	Volume      string `json:"volume,omitempty"`
	SubPath     string `json:"subPath,omitempty"`
	PodFile     string `json:"podFile,omitempty"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
}

// Security is what of the securityContext the guest enforces.
type Security struct {
	ReadOnlyRootfs     bool              `json:"readOnlyRootfs,omitempty"`
	NoNewPrivileges    bool              `json:"noNewPrivileges,omitempty"`
	SupplementalGroups []uint32          `json:"supplementalGroups,omitempty"`
	AddCapabilities    []string          `json:"addCapabilities,omitempty"`
	DropCapabilities   []string          `json:"dropCapabilities,omitempty"`
	Sysctls            map[string]string `json:"sysctls,omitempty"`
}
