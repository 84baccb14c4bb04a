package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// server answers the OCI distribution API from a store.
type server struct {
	store store
	// gc is held exclusively while a DELETE collects blobs, and shared by
	// manifest PUTs, so that a manifest that found its blobs present is
	// whole on disk before a collection looks for what references them.
	gc sync.RWMutex
}

// New returns an OCI distribution (v2) API handler whose state lives in
// files under root: pulls, pushes, tags/list and _catalog. It keeps nothing
// in memory, so several handlers on one root, or one restarted, agree.
func New(root string) http.Handler {
	return &server{store: store{root: root}}
}

// route is a parsed /v2/ request path.
type route struct {
	repo   string
	kind   string // "manifests", "blobs", "uploads", "tags"
	target string // manifest reference, blob digest or upload id
}

// parseRoute splits a /v2/ path. Repository names may contain components
// such as "blobs", so the path is read from its end.
func parseRoute(path string) (route, bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/v2/"), "/")
	n := len(parts)
	switch {
	case n >= 3 && parts[n-2] == "tags" && parts[n-1] == "list":
		return route{repo: strings.Join(parts[:n-2], "/"), kind: "tags"}, true
	case n >= 3 && parts[n-2] == "blobs" && parts[n-1] == "uploads":
		return route{repo: strings.Join(parts[:n-2], "/"), kind: "uploads"}, true
	case n >= 4 && parts[n-3] == "blobs" && parts[n-2] == "uploads":
		return route{repo: strings.Join(parts[:n-3], "/"), kind: "uploads", target: parts[n-1]}, true
	case n >= 3 && parts[n-2] == "blobs":
		return route{repo: strings.Join(parts[:n-2], "/"), kind: "blobs", target: parts[n-1]}, true
	case n >= 3 && parts[n-2] == "manifests":
		return route{repo: strings.Join(parts[:n-2], "/"), kind: "manifests", target: parts[n-1]}, true
	}
	return route{}, false
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	switch {
	case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "only GET and HEAD on /v2/")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
		return
	case r.URL.Path == "/v2/_catalog":
		s.catalog(w, r)
		return
	}
	rt, ok := parseRoute(r.URL.Path)
	if !ok || !repositoryPattern.MatchString(rt.repo) {
		writeError(w, http.StatusNotFound, "NAME_INVALID", "invalid repository name or path "+r.URL.Path)
		return
	}
	switch rt.kind {
	case "manifests":
		s.manifests(w, r, rt)
	case "blobs":
		s.blobs(w, r, rt)
	case "uploads":
		s.uploads(w, r, rt)
	case "tags":
		s.tagList(w, r, rt)
	}
}

func (s *server) manifests(w http.ResponseWriter, r *http.Request, rt route) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		repo, err := s.store.resolveRepo(rt.repo)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		m, err := s.store.getManifest(repo, rt.target)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", m.digest.String())
		serveFile(w, r, m.path)
	case http.MethodPut:
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
			return
		}
		if len(raw) > maxManifestSize {
			writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", "manifest larger than 4 MiB")
			return
		}
		s.putManifest(w, r, rt, raw)
	case http.MethodDelete:
		s.deleteManifest(w, rt)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" on manifests")
	}
}

// putManifest stores a pushed manifest once the blobs it names are here:
// a manifest whose layers are gone (collected by a DELETE between the
// client's upload and this PUT) is refused, and the client pushes again.
func (s *server) putManifest(w http.ResponseWriter, r *http.Request, rt route, raw []byte) {
	s.gc.RLock()
	defer s.gc.RUnlock()
	mediaType := manifestMediaType(r.Header.Get("Content-Type"), raw)
	if missing := s.store.missingBlobs(raw); len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", fmt.Sprintf("blob %s is unknown to the registry: push the image again", missing[0]))
		return
	}
	d, err := s.store.putManifest(rt.repo, rt.target, mediaType, raw)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Location", "/v2/"+rt.repo+"/manifests/"+d.String())
	w.WriteHeader(http.StatusCreated)
}

// deleteManifest removes a tag (or, by digest, a manifest and its tags),
// then the blobs nothing references any more.
func (s *server) deleteManifest(w http.ResponseWriter, rt route) {
	s.gc.Lock()
	defer s.gc.Unlock()
	repo, err := s.store.resolveRepo(rt.repo)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if d, derr := v1.NewHash(rt.target); derr == nil {
		err = s.store.removeManifest(repo, d)
	} else {
		err = s.store.removeTag(repo, rt.target)
	}
	if err == nil {
		err = s.store.collectBlobs()
	}
	if err != nil {
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// manifestMediaType is the pushed Content-Type, or the manifest's own
// mediaType field when the client sent none.
func manifestMediaType(header string, raw []byte) string {
	if header != "" && header != "application/octet-stream" {
		return header
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(raw, &m) == nil && m.MediaType != "" {
		return m.MediaType
	}
	return "application/vnd.oci.image.manifest.v1+json"
}

func (s *server) blobs(w http.ResponseWriter, r *http.Request, rt route) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" on blobs")
		return
	}
	d, err := v1.NewHash(rt.target)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	if _, err := s.store.statBlob(d); err != nil {
		writeStoreError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", d.String())
	serveFile(w, r, s.store.blobPath(d))
}

// serveFile sends a content-addressed file; ServeContent adds Range support.
func serveFile(w http.ResponseWriter, r *http.Request, path string) {
	f, err := os.Open(path)
	if err != nil {
		writeStoreError(w, errBlobUnknown)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func (s *server) tagList(w http.ResponseWriter, r *http.Request, rt route) {
	repo, err := s.store.resolveRepo(rt.repo)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	tags, err := s.store.tags(repo)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, map[string]any{"name": rt.repo, "tags": page(tags, r)})
}

func (s *server) catalog(w http.ResponseWriter, r *http.Request) {
	repos, err := s.store.repositories()
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, map[string]any{"repositories": page(repos, r)})
}

// page applies the spec's n and last query parameters to a sorted list.
func page(items []string, r *http.Request) []string {
	if last := r.URL.Query().Get("last"); last != "" {
		i := 0
		for i < len(items) && items[i] <= last {
			i++
		}
		items = items[i:]
	}
	var n int
	if _, err := fmt.Sscan(r.URL.Query().Get("n"), &n); err == nil && n >= 0 && n < len(items) {
		items = items[:n]
	}
	return items
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// writeStoreError maps store errors onto the spec's error codes.
func writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errBlobUnknown):
		writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", err.Error())
	case errors.Is(err, errManifestUnknown):
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", err.Error())
	case errors.Is(err, errNameUnknown):
		writeError(w, http.StatusNotFound, "NAME_UNKNOWN", err.Error())
	case errors.Is(err, errDigestInvalid):
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": message}},
	})
}
