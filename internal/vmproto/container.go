package vmproto

import "time"

// ContainerStatus is what the guest knows of one container attempt; it
// answers Start and List and rides in exit Events.
type ContainerStatus struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Attempt int    `json:"attempt"`
	// State is "running" or "exited".
	State      string    `json:"state"`
	Pid        int       `json:"pid,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
	ExitCode   int       `json:"exitCode,omitempty"`
	// Reason once exited: "Completed", "OOMKilled" or "Error".
	Reason             string `json:"reason,omitempty"`
	TerminationMessage string `json:"terminationMessage,omitempty"`
}

// States a ContainerStatus has.
const (
	StateRunning = "running"
	StateExited  = "exited"
)
