package vmproto

// Shutdown stops every container (SIGTERM, GraceMillis, SIGKILL), syncs
// the disks and powers the VM off after the Response.
type Shutdown struct {
	GraceMillis int64 `json:"graceMillis"`
}
