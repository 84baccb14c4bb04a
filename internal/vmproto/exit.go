package vmproto

// Exit ends a streaming operation: the process's exit code, or Error when
// it could not run or was cut short.
type Exit struct {
	Code  int    `json:"code"`
	Error string `json:"error,omitempty"`
}
