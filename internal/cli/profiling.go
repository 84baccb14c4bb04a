package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// profilingEnv names the address on which a fargo process serves Go's
// profiles (/debug/pprof/), for benchmarks and for finding where time and
// memory go. Unset, nothing listens. The embedded apiserver's own
// profiling stays off: its handler needs authentication and serves only
// the apiserver's view of this process.
const profilingEnv = "FARGO_PPROF_ADDR"

// profiledVerbs are the verbs that serve profiles when profilingEnv is
// set: the processes that run for long.
var profiledVerbs = map[string]bool{"up": true, "server": true, "agent": true}

// serveProfiles starts the profiling listener if profilingEnv asks for
// one. It listens before returning, so a bad address fails the command.
func serveProfiles() error {
	addr := os.Getenv(profilingEnv)
	if addr == "" {
		return nil
	}
	// The address is this process's: a child fargo (kube-proxy) must not
	// try to listen on it too.
	os.Unsetenv(profilingEnv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s=%s: %w (unset it, or pick a free address such as 127.0.0.1:6060)", profilingEnv, addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}
