package logrouter

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/klog/v2"

	"github.com/fargo-dev/fargo/internal/awslogging"
	"github.com/fargo-dev/fargo/internal/logpipe"
	"github.com/fargo-dev/fargo/internal/logpipe/output/cloudwatch"
)

// selfLogBacklog bounds the router's own lines waiting for CloudWatch;
// past it the oldest are dropped: they are about the pipeline, not the
// user's logs, and must never hold the pipeline up.
const selfLogBacklog = 1000

// selfLog is what the router says about one pod's pipeline: always in the
// host agent's log, and with flb_log_cw: "true" also in CloudWatch, group
// <cluster>-fluent-bit-logs, stream fluent-bit-<pod>-<namespace>, as the
// Fluent Bit of EKS Fargate ships its own log.
type selfLog struct {
	pod   podRef
	mu    sync.Mutex
	queue []logpipe.Record
	// closing: ship what is queued, then end.
	closing bool
	wake    chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

func (r *Router) selfLog(ref podRef, cfg *awslogging.Config, creds aws.CredentialsProvider) *selfLog {
	s := &selfLog{pod: ref, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if !cfg.RouterLogsToCloudWatch {
		close(s.done)
		return s
	}
	env := r.env(nil)
	if creds != nil {
		env.AWSCredentials = creds
	}
	out, err := cloudwatch.New(r.selfLogParams(ref, cfg), env)
	if err != nil {
		klog.ErrorS(err, "flb_log_cw: cannot ship the log router's own log", "pod", ref.Namespace+"/"+ref.Name)
		close(s.done)
		return s
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go s.ship(ctx, out)
	return s
}

// selfLogParams: the region and endpoint of the config's first cloudwatch
// output (where the user's logs go), else the cluster's region.
func (r *Router) selfLogParams(ref podRef, cfg *awslogging.Config) logpipe.Params {
	region, endpoint := r.cfg.Region, ""
	for _, o := range cfg.Outputs {
		if name, _ := o.Get("Name"); strings.HasPrefix(strings.ToLower(name), "cloudwatch") {
			if v, ok := o.Get("region"); ok {
				region = v
			}
			endpoint, _ = o.Get("endpoint")
			break
		}
	}
	p := logpipe.Params{
		{Key: "region", Value: region},
		{Key: "log_group_name", Value: r.cfg.Cluster + "-fluent-bit-logs"},
		{Key: "log_stream_name", Value: "fluent-bit-" + ref.Name + "-" + ref.Namespace},
		{Key: "auto_create_group", Value: "true"},
		{Key: "log_key", Value: "log"},
	}
	if endpoint != "" {
		p = append(p, logpipe.Param{Key: "endpoint", Value: endpoint})
	}
	return p
}

// printf logs one line in Fluent Bit's shape: [time] [level] [where] text.
func (s *selfLog) printf(format string, args ...any) {
	now := time.Now()
	line := fmt.Sprintf("[%s] %s", now.UTC().Format("2006/01/02 15:04:05"), fmt.Sprintf(format, args...))
	// In the message, not keys: the embedded CoreDNS sets klog's logger
	// to one that prints messages only.
	klog.Infof("log router, pod %s/%s: %s", s.pod.Namespace, s.pod.Name, line)
	if s.stop == nil {
		return
	}
	s.mu.Lock()
	if len(s.queue) >= selfLogBacklog {
		s.queue = s.queue[1:]
	}
	s.queue = append(s.queue, logpipe.Record{Time: now, Fields: map[string]any{"log": line}})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *selfLog) ship(ctx context.Context, out logpipe.Output) {
	defer close(s.done)
	defer out.Close()
	for {
		s.mu.Lock()
		batch, closing := s.queue, s.closing
		s.queue = nil
		s.mu.Unlock()
		wait := firstRetry
		for len(batch) > 0 {
			if err := out.Send(ctx, batch); err == nil || logpipe.IsPermanent(err) || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, maxRetry)
		}
		if closing {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// close stops shipping after a last attempt of up to a few seconds for
// what is queued.
func (s *selfLog) close() {
	if s.stop == nil {
		return
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	t := time.AfterFunc(3*time.Second, s.stop)
	<-s.done
	t.Stop()
	s.stop()
}
