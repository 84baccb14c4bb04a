package registry

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Find returns the entries that a pull of the image reference s from this
// registry gets: s read as a pod's image ("nginx" is
// docker.io/library/nginx:latest), its repository resolved as the server
// resolves a request (see the package documentation). A reference by
// digest finds every tag that points at that digest.
func Find(entries []Entry, s string) ([]Entry, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an image name: %v", s, err)
	}
	stored := map[string]bool{}
	for _, e := range entries {
		stored[e.Repository] = true
	}
	repo := ""
	for _, c := range candidates(Repository(ref)) {
		if stored[c] {
			repo = c
			break
		}
	}
	var found []Entry
	for _, e := range entries {
		if e.Repository == repo && matches(ref, e) {
			found = append(found, e)
		}
	}
	return found, nil
}

func matches(ref name.Reference, e Entry) bool {
	if d, ok := ref.(name.Digest); ok {
		return e.Digest == d.DigestStr()
	}
	return e.Tag == ref.Identifier()
}

// Lookup finds the entries a user names: an entry's name as List prints
// it ("foo/bar:v1", with ":latest" implied), else what [Find] finds for s
// as an image reference.
func Lookup(entries []Entry, s string) ([]Entry, error) {
	full := s
	if !strings.Contains(s[strings.LastIndex(s, "/")+1:], ":") && !strings.Contains(s, "@") {
		full += ":latest"
	}
	for _, e := range entries {
		if e.Name == full {
			return []Entry{e}, nil
		}
	}
	return Find(entries, s)
}

// Users returns, sorted, the users (pods, say) with an image that a pull
// from this registry would serve from e; images lists each user's image
// references as it writes them.
func Users(entries []Entry, e Entry, images map[string][]string) []string {
	var users []string
	for user, refs := range images {
		for _, ref := range refs {
			found, _ := Find(entries, ref)
			if slices.ContainsFunc(found, func(f Entry) bool { return f.Name == e.Name }) {
				users = append(users, user)
				break
			}
		}
	}
	sort.Strings(users)
	return users
}
