package vmproto

// Files makes or refreshes volume Volume in the guest
// (/run/fargo/volumes/<Volume>). With Entries, the volume becomes exactly
// that tree, swapped in at once so a reader never sees half of an update;
// a volume of Kind "empty" is an empty directory on the scratch disk (or
// tmpfs with Memory) made once and never replaced, as an emptyDir.
type Files struct {
	Volume  string      `json:"volume"`
	Kind    string      `json:"kind,omitempty"`
	Memory  bool        `json:"memory,omitempty"`
	Entries []FileEntry `json:"entries,omitempty"`
	// For an emptyDir: Mode is its directory's unix mode bits (setgid
	// with the pod's fsGroup, sticky on a tmpfs; 0 reads as 0777), GID
	// its group (the fsGroup; 0 leaves root's), and SizeBytes the size of
	// its tmpfs (0 for the kernel's default).
	Mode      uint32 `json:"mode,omitempty"`
	GID       int    `json:"gid,omitempty"`
	SizeBytes int64  `json:"sizeBytes,omitempty"`
}

// Kinds of Files volumes.
const (
	VolumeTree  = ""      // a tree the host sends and refreshes
	VolumeEmpty = "empty" // an emptyDir that lives in the guest
	VolumeFile  = "file"  // one file (Entries[0] with Path ""), shared writable
)

// FileEntry is one file, directory or symlink, Path relative to the
// volume. A directory's Mode has all twelve unix mode bits (setgid with
// an fsGroup), a file's its permissions.
type FileEntry struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
	// Dir marks a directory; Link a symlink's target; else Data is the
	// file's content.
	Dir  bool   `json:"dir,omitempty"`
	Link string `json:"link,omitempty"`
	Data []byte `json:"data,omitempty"`
	UID  int    `json:"uid,omitempty"`
	GID  int    `json:"gid,omitempty"`
}
