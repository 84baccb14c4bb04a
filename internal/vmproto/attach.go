package vmproto

// Attach connects to running container ID's main process: its stdin (when
// started with Stdin) and its output from now on, until the host cancels
// the stream or the container exits (then an Exit).
type Attach struct {
	ID     string `json:"id"`
	Stdin  bool   `json:"stdin,omitempty"`
	Stdout bool   `json:"stdout,omitempty"`
	Stderr bool   `json:"stderr,omitempty"`
}
