package microvm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fargo-dev/fargo/internal/sandbox"
	"github.com/fargo-dev/fargo/internal/shim"
)

const recordFile = "vm.json"

// record is what a restarted agent needs to adopt a pod's VM.
type record struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	VM        VM     `json:"vm"`
	Pid       int    `json:"pid"`
	// Created is when the VM was booted.
	Created time.Time `json:"created"`
	// Images maps an image's layers key to its disk's serial.
	Images map[string]string `json:"images"`
	// Containers are the attempts started, for their log paths.
	Containers map[string]containerRecord `json:"containers"`
}

// containerRecord is one attempt as the host needs it after a restart.
type containerRecord struct {
	Name    string `json:"name"`
	Attempt int    `json:"attempt"`
	LogPath string `json:"logPath"`
}

func readRecord(dir string) (record, error) {
	var rec record
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if errors.Is(err, os.ErrNotExist) {
		return rec, fmt.Errorf("microvm: pod %s has no VM: %w", filepath.Base(dir), sandbox.ErrNotFound)
	}
	if err != nil {
		return rec, fmt.Errorf("microvm: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("microvm: %s: %w", filepath.Join(dir, recordFile), err)
	}
	if rec.Containers == nil {
		rec.Containers = map[string]containerRecord{}
	}
	return rec, nil
}

func writeRecord(dir string, rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return shim.WriteFileAtomic(filepath.Join(dir, recordFile), b)
}

// layersKey names an image by its layer list (layer directories are
// content-addressed, so equal lists are the same image).
func layersKey(layers []string) string {
	sum := sha256.Sum256([]byte(strings.Join(layers, "\n")))
	return hex.EncodeToString(sum[:])
}

// serialFor is the disk serial of an image (virtio-blk serials hold 20
// bytes).
func serialFor(key string) string { return "img-" + key[:16] }

// scratchSerial is the scratch disk's serial.
const scratchSerial = "scratch"
