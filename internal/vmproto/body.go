package vmproto

import (
	"encoding/json"
	"fmt"
)

// jsonBody decodes a Request's body into v.
func jsonBody(req Request, v any) error {
	if err := json.Unmarshal(req.Body, v); err != nil {
		return fmt.Errorf("vmproto: %s request: %w", req.Op, err)
	}
	return nil
}

// Decode reads the request's body into v.
func (r Request) Decode(v any) error { return jsonBody(r, v) }
