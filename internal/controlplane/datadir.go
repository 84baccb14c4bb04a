package controlplane

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/fargo-dev/fargo/internal/pidlock"
	"github.com/fargo-dev/fargo/internal/pki"
	"github.com/fargo-dev/fargo/internal/version"
)

// dataFormat is the layout version of a data dir this fargo reads. Raise it
// when the layout changes, with a migration from the previous one.
const dataFormat = 1

// Identity is <data-dir>/fargo.json: which cluster the dir belongs to and
// which software last ran it, so that a dir from another cluster or a newer
// fargo is refused before anything in it is touched.
type Identity struct {
	Format     int    `json:"format"`
	ClusterID  string `json:"clusterID"`
	Kubernetes string `json:"kubernetes"`
	Fargo      string `json:"fargo"`
}

// DataDir is an opened, locked data dir.
type DataDir struct {
	Layout
	Identity Identity
	lock     *pidlock.Lock
}

// OpenDataDir creates dir if needed, takes its lock and checks that this
// fargo can use it. Nothing is written except the lock and, for a new or
// older dir, fargo.json.
func OpenDataDir(dir string) (*DataDir, error) {
	d := &DataDir{Layout: Layout{Dir: dir}}
	for _, sub := range []string{dir, d.PKI(), d.Logs()} {
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return nil, permissionHint(err, dir)
		}
	}
	if err := d.takeLock(); err != nil {
		return nil, err
	}
	if err := d.loadIdentity(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the lock.
func (d *DataDir) Close() {
	d.lock.Release()
	d.lock = nil
}

func (d *DataDir) takeLock() error {
	l, err := pidlock.Acquire(d.Lock())
	switch {
	case errors.Is(err, pidlock.ErrHeld):
		return fmt.Errorf("data dir %s is in use by another fargo server (%v): stop it with fargo down --data-dir %s, or pass another --data-dir", d.Dir, err, d.Dir)
	case err != nil:
		return permissionHint(err, d.Dir)
	}
	d.lock = l
	return nil
}

func (d *DataDir) loadIdentity() error {
	data, err := os.ReadFile(d.IdentityFile())
	if errors.Is(err, os.ErrNotExist) {
		return d.createIdentity()
	}
	if err != nil {
		return permissionHint(err, d.Dir)
	}
	if err := json.Unmarshal(data, &d.Identity); err != nil || d.Identity.ClusterID == "" {
		return fmt.Errorf("%s is damaged (%v): restore it from a backup, or start a new cluster with another --data-dir", d.IdentityFile(), err)
	}
	if d.Identity.Format > dataFormat {
		return fmt.Errorf("data dir %s was written by a newer fargo (%s, format %d; this fargo %s reads format %d): run that fargo or a newer one, or pass another --data-dir",
			d.Dir, d.Identity.Fargo, d.Identity.Format, version.Fargo, dataFormat)
	}
	running := version.Kubernetes()
	if have, want := version.Minor(d.Identity.Kubernetes), version.Minor(running); have > 0 && want > 0 && have > want {
		return fmt.Errorf("data dir %s was last run by Kubernetes %s; this fargo embeds %s and Kubernetes cannot downgrade its storage: run a fargo with Kubernetes %s or newer, or pass another --data-dir",
			d.Dir, d.Identity.Kubernetes, running, d.Identity.Kubernetes)
	}
	if d.Identity.Kubernetes == running && d.Identity.Fargo == version.Fargo {
		return nil
	}
	d.Identity.Kubernetes, d.Identity.Fargo = running, version.Fargo
	return d.writeIdentity()
}

func (d *DataDir) createIdentity() error {
	// A dir holding etcd data or a CA but no fargo.json was not made by
	// fargo (or was damaged): refuse rather than mint a new identity over it.
	for _, p := range []string{d.Etcd(), d.PKIFile("ca.crt")} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("data dir %s holds %s but no fargo.json: it is not a fargo data dir or it is damaged; pass an empty --data-dir or restore fargo.json from a backup", d.Dir, p)
		}
	}
	d.Identity = Identity{Format: dataFormat, ClusterID: newClusterID(), Kubernetes: version.Kubernetes(), Fargo: version.Fargo}
	return d.writeIdentity()
}

func (d *DataDir) writeIdentity() error {
	data, err := json.MarshalIndent(d.Identity, "", "  ")
	if err != nil {
		return err
	}
	return permissionHint(pki.WriteFileAtomic(d.IdentityFile(), append(data, '\n'), 0o600), d.Dir)
}

func newClusterID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// permissionHint turns a permission error into one line naming the fix.
func permissionHint(err error, dir string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("cannot write data dir %s (%v): run fargo as root, or pass a --data-dir you can write", dir, err)
	}
	return err
}
