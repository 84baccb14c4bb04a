package vmproto

import "encoding/json"

// Operations a Request names; each one's body is the type in the file of
// the same name.
const (
	OpSetup       = "setup"       // Setup; Response only
	OpStart       = "start"       // Start; Response with ContainerStatus
	OpList        = "list"        // no body; Response with []ContainerStatus
	OpStop        = "stop"        // Stop; Response once the process is gone
	OpRemove      = "remove"      // Remove; Response only
	OpExec        = "exec"        // Exec; Response, data frames, Exit
	OpAttach      = "attach"      // Attach; Response, data frames, Exit
	OpPortForward = "portforward" // PortForward; Response, data frames, Exit
	OpStats       = "stats"       // no body; Response with Stats
	OpFiles       = "files"       // Files; Response only
	OpImage       = "image"       // Image; Response, disk frames, Exit
	OpShutdown    = "shutdown"    // Shutdown; Response, then the VM powers off
)

// Request opens a stream.
type Request struct {
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Response answers a Request: Error when it failed (the operation did
// nothing), else Result for operations that return one.
type Response struct {
	Error string `json:"error,omitempty"`
	// NotFound marks an Error about a container the guest does not have,
	// so the host can map it to sandbox.ErrNotFound.
	NotFound bool            `json:"notFound,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}
