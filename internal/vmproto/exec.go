package vmproto

// Exec runs Argv in running container ID, with its root, user,
// environment and cgroup. After the Response, Stdin/EOF/Resize frames go
// to the process and Stdout/Stderr frames come back, then one Exit.
type Exec struct {
	ID   string   `json:"id"`
	Argv []string `json:"argv"`
	// Stdin, Stdout and Stderr say which streams the client has; TTY gives
	// the process a terminal (its output all comes as Stdout).
	Stdin  bool `json:"stdin,omitempty"`
	Stdout bool `json:"stdout,omitempty"`
	Stderr bool `json:"stderr,omitempty"`
	TTY    bool `json:"tty,omitempty"`
	// TimeoutMillis, when not zero, kills the process after that long and
	// ends with an Exit carrying an Error.
	TimeoutMillis int64 `json:"timeoutMillis,omitempty"`
}
