// Package version tells which fargo and which Kubernetes this binary is.
package version

import (
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Fargo is set at link time (-X); a plain `go build` says "dev".
var Fargo = "dev"

// Kubernetes returns the k8s.io/kubernetes module version compiled into this
// binary (for example "v1.36.3"), read from the build info so that it can
// never disagree with the code that actually runs.
var Kubernetes = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/kubernetes" {
			return dep.Version
		}
	}
	return "unknown"
})

// Minor returns the minor number of a "vMAJOR.MINOR.PATCH" version, or -1.
func Minor(v string) int {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return -1
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return -1
	}
	return n
}
