package vmproto

// Image adds an image to a running guest: a container's image that was
// not among the VM's disks at boot (its spec changed to a new image).
// After the Response, the host sends the image's read-only disk (the
// same erofs image a boot-time disk holds) as Stdin frames, then EOF;
// the guest keeps it on the scratch disk, mounts it, and ends with an
// Exit. The guest sends an empty Stdout frame for every ImageAckBytes it
// has written, and the host keeps at most ImageWindowBytes unacknowledged,
// so the transfer never piles up in the guest's memory.
type Image struct {
	// Serial names the image as Start.ImageSerial will.
	Serial string `json:"serial"`
	// Size is the disk's length in bytes.
	Size int64 `json:"size"`
}

// The pacing of an Image transfer.
const (
	ImageAckBytes    = 1 << 20
	ImageWindowBytes = 4 << 20
)
