package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// flight is one layer being fetched and unpacked; everyone who needs the
// layer meanwhile waits for it instead of fetching it again.
type flight struct {
	done chan struct{}
	err  error
}

// layerOpener opens a layer's uncompressed tar stream.
type layerOpener func() (io.ReadCloser, error)

// ensureLayer returns the directory of the layer with diffID, fetching and
// unpacking it with open unless this host already has it or is already
// getting it. The fetch carries on when ctx ends, for the other waiters and
// the next pull; only the wait is cut short.
func (s *Store) ensureLayer(ctx context.Context, diffID v1.Hash, open layerOpener) (string, error) {
	final := s.layerPath(diffID)
	s.mu.Lock()
	// Checked under mu, where the collector removes layers: a layer found
	// here is marked used before the collector can look at it again.
	if _, err := os.Stat(final); err == nil {
		s.lastUsed[diffID] = time.Now()
		s.mu.Unlock()
		return final, nil
	}
	f, running := s.inflight[diffID]
	if !running {
		f = &flight{done: make(chan struct{})}
		s.inflight[diffID] = f
		go s.fetchLayer(f, diffID, open)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return final, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *Store) fetchLayer(f *flight, diffID v1.Hash, open layerOpener) {
	f.err = s.unpackLayer(diffID, open)
	s.mu.Lock()
	s.lastUsed[diffID] = time.Now()
	delete(s.inflight, diffID)
	s.mu.Unlock()
	close(f.done)
}

// unpackLayer unpacks into a temporary directory and renames it into place
// only once complete and verified, so a crash never leaves a layer that
// looks whole.
func (s *Store) unpackLayer(diffID v1.Hash, open layerOpener) error {
	final := s.layerPath(diffID)
	if _, err := os.Stat(final); err == nil {
		return nil // finished by a flight that ended just before ours began
	}
	tmp, err := os.MkdirTemp(s.tmpDir(), "layer-")
	if err != nil {
		return err
	}
	if err := s.unpackVerified(tmp, diffID, open); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(final); statErr == nil {
			return nil // another process finished the same layer
		}
		return err
	}
	return nil
}

func (s *Store) unpackVerified(dir string, diffID v1.Hash, open layerOpener) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	r := io.TeeReader(rc, h)
	if err := unpack(r, dir); err != nil {
		return fmt.Errorf("unpack layer %s: %w", diffID, err)
	}
	// Read what the tar reader left (end-of-archive padding) so both the
	// download's own digest check and ours see the whole stream.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	if err := rc.Close(); err != nil {
		return fmt.Errorf("layer %s: %w", diffID, err)
	}
	return checkDigest(h, diffID)
}

var errDigestMismatch = errors.New("content does not match its digest")

func checkDigest(h hash.Hash, want v1.Hash) error {
	if got := hex.EncodeToString(h.Sum(nil)); want.Algorithm != "sha256" || got != want.Hex {
		return fmt.Errorf("layer %s: %w (got sha256:%s): the registry sent a corrupt or different layer", want, errDigestMismatch, got)
	}
	return nil
}
