package registry

// Dir is the local registry used through its files under a root
// directory, for when no registry serves them; [Remote] is the same
// registry through a running server.
type Dir string

// Import is [Import] into d.
func (d Dir) Import(tarballPath string) ([]string, error) { return Import(string(d), tarballPath) }

// List is [List] of d.
func (d Dir) List() ([]Entry, error) { return List(string(d)) }

// Remove is [Remove] from d.
func (d Dir) Remove(e Entry) error { return Remove(string(d), e) }
