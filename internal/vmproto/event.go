package vmproto

// Event is the guest telling the host of something it did not ask for,
// on stream 0.
type Event struct {
	// Exited is the final status of a container attempt that ended.
	Exited *ContainerStatus `json:"exited,omitempty"`
}
