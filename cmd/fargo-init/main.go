// Command fargo-init is PID 1 in a fargo microVM: it sets the guest up
// and runs the pod's containers for the host (internal/guestinit).
package main

import (
	"os"

	"github.com/fargo-dev/fargo/internal/guestinit"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == guestinit.EntryArg {
		guestinit.ContainerEntry() // does not return
	}
	guestinit.Main()
}
