package vmproto

// PortForward connects to TCP Port on the guest's loopback. After the
// Response, Stdin frames go to the port and Stdout frames come from it;
// EOF half-closes; Exit ends the stream when the connection closes.
type PortForward struct {
	Port int32 `json:"port"`
}
