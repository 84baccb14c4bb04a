package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/fargo-dev/fargo/internal/network"
	"github.com/fargo-dev/fargo/internal/pki"
)

// hostRecord is <data-dir>/host.json: what the agent set up on this
// machine, written before it sets anything up, so that a cleanup after
// the agent is gone (fargo down, fargo agent cleanup) finds the bridge,
// pod ranges and runtime it used, whatever flags it ran with.
type hostRecord struct {
	Bridge      string   `json:"bridge"`
	PodCIDRs    []string `json:"podCIDRs"`
	KubeletPort int      `json:"kubeletPort"`
	Runtime     string   `json:"runtime"`
	LogDir      string   `json:"logDir"`
}

// record is what this agent sets up.
func (c Config) record() (hostRecord, error) {
	runtime := "runc" // cleanup needs an OCI runtime even on a microvm-only host
	for _, t := range c.Tiers {
		if name, err := runtimeOf(t); err == nil {
			runtime = name
		}
	}
	return hostRecord{Bridge: c.Bridge, PodCIDRs: c.PodCIDRs, KubeletPort: c.KubeletPort, Runtime: runtime, LogDir: c.LogDir}, nil
}

func recordFile(dataDir string) string { return filepath.Join(dataDir, "host.json") }

func lockFile(dataDir string) string { return filepath.Join(dataDir, ".lock") }

func writeRecord(dataDir string, r hostRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(recordFile(dataDir), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", recordFile(dataDir), err)
	}
	return nil
}

// readRecord reads the record; ok is false when there is none: no agent
// of this fargo ran on dataDir.
func readRecord(dataDir string) (r hostRecord, ok bool, err error) {
	b, err := os.ReadFile(recordFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return hostRecord{}, false, nil
	}
	if err != nil {
		return hostRecord{}, false, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return hostRecord{}, false, fmt.Errorf("%s is damaged (%v): delete it, and remove the agent's bridge yourself (ip link del BRIDGE)", recordFile(dataDir), err)
	}
	return r, true, nil
}

// networkConfig is the pod network the record describes.
func (r hostRecord) networkConfig(dataDir string) (network.Config, error) {
	cfg := network.Config{Bridge: r.Bridge, NetnsDir: filepath.Join(dataDir, "netns"), KubeletPort: uint16(r.KubeletPort)}
	for _, s := range r.PodCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return network.Config{}, fmt.Errorf("%s: pod range %q: %w", recordFile(dataDir), s, err)
		}
		cfg.PodCIDRs = append(cfg.PodCIDRs, p)
	}
	return cfg, nil
}
