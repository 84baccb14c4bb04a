// Command fargo-shim is fargo's per-container shim and a microVM's channel
// relay: a tiny static binary, separate from the large fargo binary, so
// that each running container costs a few MiB of memory, not a hundred.
//
//	fargo-shim run --id ID --bundle DIR --runtime PATH [--runtime-arg ARG]... \
//	    [--runtime-unmount PATH]... --log FILE --exit-file FILE [--report-fd 3] \
//	    [--attach-socket PATH] [--stdin [--stdin-once]] [--tty]
//	fargo-shim vm-relay CHANNEL-SOCKET LISTEN-SOCKET
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/fargo-dev/fargo/internal/shim"
	"github.com/fargo-dev/fargo/internal/vmrelay"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fargo-shim run|vm-relay [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "vm-relay":
		if len(os.Args) != 4 {
			err = vmrelay.ErrUsage
		} else {
			err = vmrelay.Run(os.Args[2], os.Args[3])
		}
	default:
		err = fmt.Errorf("unknown role %q: use run or vm-relay", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fargo-shim:", err)
		os.Exit(1)
	}
}

// repeated is a flag that may be given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func run(args []string) error {
	var cfg shim.RunConfig
	var runtimeArgs, unmount repeated
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&cfg.ID, "id", "", "container ID")
	fs.StringVar(&cfg.Bundle, "bundle", "", "OCI bundle directory")
	fs.StringVar(&cfg.Runtime, "runtime", "runc", "OCI runtime binary")
	fs.Var(&runtimeArgs, "runtime-arg", "argument before the runtime's subcommand (repeatable)")
	fs.Var(&unmount, "runtime-unmount", "mount point the runtime must not see: it runs in a private mount namespace without it (repeatable)")
	fs.StringVar(&cfg.LogPath, "log", "", "CRI log file")
	fs.StringVar(&cfg.ExitFile, "exit-file", "", "file to write the exit status to")
	fs.StringVar(&cfg.PidFile, "pid-file", "", "file for the container's pid (default BUNDLE/container.pid)")
	fs.StringVar(&cfg.AttachSocket, "attach-socket", "", "unix socket to serve attach clients on (fargo-attach protocol)")
	fs.BoolVar(&cfg.Stdin, "stdin", false, "keep the container's stdin open for attach clients")
	fs.BoolVar(&cfg.StdinOnce, "stdin-once", false, "close stdin when the first attach client using it detaches")
	fs.BoolVar(&cfg.TTY, "tty", false, "run the container with a terminal (process.terminal), received on a console socket")
	reportFD := fs.Int("report-fd", 3, "inherited fd to write the start report to (-1: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, v := range map[string]string{"id": cfg.ID, "bundle": cfg.Bundle, "log": cfg.LogPath, "exit-file": cfg.ExitFile} {
		if v == "" {
			return fmt.Errorf("run: --%s is required", name)
		}
	}
	cfg.RuntimeArgs, cfg.RuntimeUnmount = runtimeArgs, unmount
	if *reportFD >= 0 {
		cfg.Report = os.NewFile(uintptr(*reportFD), "report")
	}
	return shim.Run(cfg)
}
