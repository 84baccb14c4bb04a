package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxManifestSize bounds what a manifest PUT may send; real manifests are
// a few kilobytes.
const maxManifestSize = 4 << 20

var (
	errBlobUnknown     = errors.New("blob unknown to registry")
	errManifestUnknown = errors.New("manifest unknown")
	errNameUnknown     = errors.New("repository name not known to registry")
	errDigestInvalid   = errors.New("provided digest did not match uploaded content")
)

// store is the registry's state on disk (layout in the package doc).
type store struct {
	root string
}

func (s store) blobPath(d v1.Hash) string {
	return filepath.Join(s.root, "blobs", d.Algorithm, d.Hex)
}

func (s store) repoDir(repo string) string {
	return filepath.Join(s.root, "repositories", filepath.FromSlash(repo))
}

func (s store) manifestLink(repo string, d v1.Hash) string {
	return filepath.Join(s.repoDir(repo), "_manifests", d.Algorithm, d.Hex)
}

func (s store) tagPath(repo, tag string) string {
	return filepath.Join(s.repoDir(repo), "_tags", tag)
}

func (s store) tmpDir() string { return filepath.Join(s.root, "uploads") }

// statBlob reports the size of a stored blob, or errBlobUnknown.
func (s store) statBlob(d v1.Hash) (int64, error) {
	fi, err := os.Stat(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, errBlobUnknown
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// putBlob stores r under its sha256 digest, refusing content whose digest is
// not want (when want is set), and returns the digest and size.
func (s store) putBlob(r io.Reader, want v1.Hash) (v1.Hash, int64, error) {
	tmp, err := s.tempFile()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return v1.Hash{}, 0, err
	}
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if want.Hex != "" && got != want {
		return v1.Hash{}, 0, fmt.Errorf("%w: expected %s, got %s", errDigestInvalid, want, got)
	}
	return got, n, s.commit(tmp.Name(), s.blobPath(got))
}

// adoptBlob moves a finished upload file into the blob store after checking
// its digest.
func (s store) adoptBlob(path string, want v1.Hash) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return 0, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); want.Algorithm != "sha256" || got != want.Hex {
		return 0, fmt.Errorf("%w: expected %s, got sha256:%s", errDigestInvalid, want, got)
	}
	return n, s.commit(path, s.blobPath(want))
}

func (s store) tempFile() (*os.File, error) {
	if err := os.MkdirAll(s.tmpDir(), 0o755); err != nil {
		return nil, err
	}
	return os.CreateTemp(s.tmpDir(), "blob-")
}

// commit renames a finished temporary file into place, creating parents.
func (s store) commit(tmp, final string) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// writeSmall atomically writes a small file such as a tag or link.
func (s store) writeSmall(path, content string) error {
	tmp, err := s.tempFile()
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return s.commit(tmp.Name(), path)
}

// putManifest stores a manifest in repo, under a tag when reference is one.
func (s store) putManifest(repo, reference, mediaType string, raw []byte) (v1.Hash, error) {
	d, _, err := s.putBlob(strings.NewReader(string(raw)), v1.Hash{})
	if err != nil {
		return v1.Hash{}, err
	}
	if want, err := v1.NewHash(reference); err == nil && want != d {
		return v1.Hash{}, fmt.Errorf("%w: manifest PUT to %s has digest %s", errDigestInvalid, reference, d)
	}
	if err := s.writeSmall(s.manifestLink(repo, d), mediaType); err != nil {
		return v1.Hash{}, err
	}
	if tagPattern.MatchString(reference) {
		return d, s.writeSmall(s.tagPath(repo, reference), d.String())
	}
	return d, nil
}

// resolveRepo finds the stored repository a request for repo means.
func (s store) resolveRepo(repo string) (string, error) {
	for _, c := range candidates(repo) {
		if fi, err := os.Stat(filepath.Join(s.repoDir(c), "_manifests")); err == nil && fi.IsDir() {
			return c, nil
		}
	}
	return "", errNameUnknown
}

// manifest is one stored manifest as the server returns it.
type manifest struct {
	digest    v1.Hash
	mediaType string
	path      string
}

// getManifest looks a tag or digest up in repo.
func (s store) getManifest(repo, reference string) (manifest, error) {
	d, err := v1.NewHash(reference)
	if err != nil {
		b, rerr := os.ReadFile(s.tagPath(repo, reference))
		if rerr != nil {
			return manifest{}, errManifestUnknown
		}
		if d, err = v1.NewHash(strings.TrimSpace(string(b))); err != nil {
			return manifest{}, fmt.Errorf("tag %s of %s is corrupt: %v", reference, repo, err)
		}
	}
	mt, err := os.ReadFile(s.manifestLink(repo, d))
	if err != nil {
		return manifest{}, errManifestUnknown
	}
	return manifest{digest: d, mediaType: string(mt), path: s.blobPath(d)}, nil
}

// tags lists repo's tags, sorted.
func (s store) tags(repo string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.repoDir(repo), "_tags"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	tags := []string{}
	for _, e := range entries {
		if tagPattern.MatchString(e.Name()) {
			tags = append(tags, e.Name())
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// repositories lists every stored repository, sorted.
func (s store) repositories() ([]string, error) {
	base := filepath.Join(s.root, "repositories")
	repos := []string{}
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == base {
			return filepath.SkipAll
		}
		if err != nil {
			return err
		}
		if !d.IsDir() || !strings.HasPrefix(d.Name(), "_") {
			return nil
		}
		if d.Name() == "_manifests" {
			rel, _ := filepath.Rel(base, filepath.Dir(path))
			repos = append(repos, filepath.ToSlash(rel))
		}
		return filepath.SkipDir
	})
	sort.Strings(repos)
	return repos, err
}
