package vmproto

// Resize is a terminal's new size, for an Exec or Attach with a TTY.
type Resize struct {
	Width  uint16 `json:"width"`
	Height uint16 `json:"height"`
}
