package vmproto

// Stop sends SIGTERM to container ID, waits up to GraceMillis, then
// SIGKILL; the Response comes once the process is gone. Stopping an exited
// container is a no-op.
type Stop struct {
	ID          string `json:"id"`
	GraceMillis int64  `json:"graceMillis"`
}
