// Command fargo is serverless pods for any Kubernetes. See internal/cli.
package main

import (
	"fmt"
	"os"

	"github.com/fargo-dev/fargo/internal/cli"
)

func main() {
	if err := cli.Run(cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fargo:", err)
		os.Exit(1)
	}
}
