// Command fargo is serverless pods for any Kubernetes. See internal/cli.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/fargo-dev/fargo/internal/cli"
)

func main() {
	err := cli.Run(cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	if err != nil && !errors.Is(err, cli.ErrReported) {
		fmt.Fprintln(os.Stderr, "fargo:", err)
	}
	if err != nil {
		os.Exit(1)
	}
}
