package vmproto

// Remove forgets an exited attempt and removes its writable layer and
// mounts.
type Remove struct {
	ID string `json:"id"`
}
