package logrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fargo-dev/fargo/internal/logpipe/tail"
)

// positions is a pod's position database: for each container log (by its
// /var/log/containers name), where delivery stopped. It is saved after
// every delivered batch, by rename, so a crash leaves the old or the new
// file whole.
type positions struct {
	path string
	at   map[string]tail.Position
}

func loadPositions(path string) (*positions, error) {
	p := &positions{path: path, at: map[string]tail.Position{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &p.at); err != nil {
		return nil, fmt.Errorf("log positions %s: %w", path, err)
	}
	return p, nil
}

func (p *positions) save() error {
	data, err := json.Marshal(p.at)
	if err != nil {
		return err
	}
	tmp := p.path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.path)
}
