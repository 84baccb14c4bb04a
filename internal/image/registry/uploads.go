package registry

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (s store) uploadPath(id string) string {
	return filepath.Join(s.tmpDir(), "upload-"+id)
}

// uploads serves the blob upload protocol: POST starts (or, with ?digest,
// completes in one request; with ?mount, links an existing blob), PATCH
// appends, PUT appends and completes.
func (s *server) uploads(w http.ResponseWriter, r *http.Request, rt route) {
	switch {
	case r.Method == http.MethodPost && rt.target == "":
		s.startUpload(w, r, rt)
	case r.Method == http.MethodPatch && rt.target != "":
		s.appendUpload(w, r, rt, false)
	case r.Method == http.MethodPut && rt.target != "":
		s.appendUpload(w, r, rt, true)
	case r.Method == http.MethodGet && rt.target != "":
		s.uploadStatus(w, rt)
	case r.Method == http.MethodDelete && rt.target != "":
		os.Remove(s.store.uploadPath(rt.target))
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" on blob uploads")
	}
}

func (s *server) startUpload(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		// Blobs are shared by all repositories, so a mount of a blob we
		// hold is already done.
		if d, err := v1.NewHash(mount); err == nil {
			if _, err := s.store.statBlob(d); err == nil {
				blobCreated(w, rt.repo, d)
				return
			}
		}
	}
	if digest := q.Get("digest"); digest != "" {
		want, err := v1.NewHash(digest)
		if err != nil {
			writeError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
			return
		}
		if _, _, err := s.store.putBlob(r.Body, want); err != nil {
			writeStoreError(w, err)
			return
		}
		blobCreated(w, rt.repo, want)
		return
	}
	id, err := newUploadID()
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if err := os.MkdirAll(s.store.tmpDir(), 0o755); err != nil {
		writeStoreError(w, err)
		return
	}
	if err := os.WriteFile(s.store.uploadPath(id), nil, 0o600); err != nil {
		writeStoreError(w, err)
		return
	}
	uploadAccepted(w, rt.repo, id, 0)
}

func (s *server) appendUpload(w http.ResponseWriter, r *http.Request, rt route, complete bool) {
	if !uploadIDPattern.MatchString(rt.target) {
		writeError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "no upload "+rt.target)
		return
	}
	path := s.store.uploadPath(rt.target)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		writeError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "no upload "+rt.target)
		return
	}
	size, err := appendChunk(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", err.Error())
		return
	}
	if !complete {
		uploadAccepted(w, rt.repo, rt.target, size)
		return
	}
	want, err := v1.NewHash(r.URL.Query().Get("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "completing an upload needs ?digest=sha256:...")
		return
	}
	if _, err := s.store.adoptBlob(path, want); err != nil {
		os.Remove(path)
		writeStoreError(w, err)
		return
	}
	blobCreated(w, rt.repo, want)
}

// appendChunk adds the request body to an upload, checking a Content-Range
// start against what is already there, and returns the new size.
func appendChunk(f *os.File, r *http.Request) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if cr := r.Header.Get("Content-Range"); cr != "" {
		var start, end int64
		if _, err := fmt.Sscanf(cr, "%d-%d", &start, &end); err != nil || start != fi.Size() {
			return 0, fmt.Errorf("Content-Range %q does not continue the upload at %d", cr, fi.Size())
		}
	}
	n, err := io.Copy(f, r.Body)
	return fi.Size() + n, err
}

func (s *server) uploadStatus(w http.ResponseWriter, rt route) {
	fi, err := os.Stat(s.store.uploadPath(rt.target))
	if err != nil || !uploadIDPattern.MatchString(rt.target) {
		writeError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "no upload "+rt.target)
		return
	}
	w.Header().Set("Location", "/v2/"+rt.repo+"/blobs/uploads/"+rt.target)
	w.Header().Set("Range", rangeHeader(fi.Size()))
	w.WriteHeader(http.StatusNoContent)
}

func uploadAccepted(w http.ResponseWriter, repo, id string, size int64) {
	w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id)
	w.Header().Set("Docker-Upload-UUID", id)
	w.Header().Set("Range", rangeHeader(size))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

func rangeHeader(size int64) string {
	if size == 0 {
		return "0-0"
	}
	return fmt.Sprintf("0-%d", size-1)
}

func blobCreated(w http.ResponseWriter, repo string, d v1.Hash) {
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d.String())
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func newUploadID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
