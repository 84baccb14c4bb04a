// Package componentlog sends the klog output of the embedded Kubernetes
// components and of fargo's own loops to a file, keeping the terminal for
// the one-line progress and errors that fargo prints itself.
package componentlog

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/klog/v2"
)

// Redirect opens path for appending and makes it klog's only output. flag
// names the command-line flag that sets path, for the error message.
func Redirect(path, flagName string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open log file %s (%v): pass %s with a writable path", path, err, flagName)
	}
	flags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(flags)
	// Errors too go to the file: an error fargo must act on reaches the
	// terminal as fargo's own one-line error.
	settings := map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"}
	// FARGO_LOG_V raises klog's verbosity, for a look inside the
	// components (klog's -v).
	if v := os.Getenv("FARGO_LOG_V"); v != "" {
		settings["v"] = v
	}
	for name, value := range settings {
		if err := flags.Set(name, value); err != nil {
			return nil, err
		}
	}
	klog.SetOutput(f)
	return f, nil
}
