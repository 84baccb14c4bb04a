package logrouter

import (
	"fmt"

	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/cloudwatch"
	"github.com/fargo-dev/fargo/internal/logpipe/output/es"
	"github.com/fargo-dev/fargo/internal/logpipe/output/file"
	"github.com/fargo-dev/fargo/internal/logpipe/output/firehose"
	"github.com/fargo-dev/fargo/internal/logpipe/output/http"
	"github.com/fargo-dev/fargo/internal/logpipe/output/kinesis"
	"github.com/fargo-dev/fargo/internal/logpipe/output/loki"
	"github.com/fargo-dev/fargo/internal/logpipe/output/opentelemetry"
	"github.com/fargo-dev/fargo/internal/logpipe/output/stdout"
)

// newOutput builds an output by its plugin name. Which names a ConfigMap
// may use (EKS's list, or the extended one) is awslogging's rule, checked
// before a pod is admitted; here every name fargo has is built.
func newOutput(name string, p logpipe.Params, plugins Plugins) (logpipe.Output, error) {
	env := plugins.Env
	switch name {
	case "cloudwatch", "cloudwatch_logs":
		return cloudwatch.New(p, env)
	case "firehose", "kinesis_firehose":
		return firehose.New(p, env)
	case "kinesis":
		return kinesis.New(p, env)
	case "es":
		return es.New(p, env)
	case "http":
		return http.New(p, env)
	case "loki":
		return loki.New(p, env)
	case "opentelemetry":
		return opentelemetry.New(p, env)
	case "file":
		return file.New(p, env)
	case "stdout":
		return stdout.New(p, env, plugins.Stdout)
	}
	return nil, fmt.Errorf("unknown output plugin %q", name)
}
