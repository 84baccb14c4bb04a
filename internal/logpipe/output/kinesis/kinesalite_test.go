package kinesis

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// kinesaliteScript starts kinesalite in memory on a free loopback port
// and prints the port. Streams become ACTIVE at once.
const kinesaliteScript = `
const kinesalite = require(process.argv[1]);
const server = kinesalite({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`

// startKinesalite runs a local Kinesis for the test and returns its URL.
func startKinesalite(t *testing.T) string {
	t.Helper()
	prefix := os.Getenv("FARGO_NPM_PREFIX")
	if prefix == "" {
		prefix = "/var/cache/fargo/npm"
	}
	module := filepath.Join(prefix, "node_modules", "kinesalite")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(module); statErr != nil || err != nil {
		t.Skipf("kinesalite is not installed in %s (or node is missing): run hack/install-kinesalite.sh", prefix)
	}
	cmd := exec.Command(node, "-e", kinesaliteScript, module)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kinesalite: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ports := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "port "); ok {
				ports <- p
			}
		}
	}()
	select {
	case p := <-ports:
		return "http://127.0.0.1:" + p
	case <-time.After(60 * time.Second):
		t.Fatal("kinesalite did not start within 60s")
	}
	return ""
}

var testCredentials = credentials.NewStaticCredentialsProvider("AKIDKINESIS", "secret", "")

// newStream creates a one-shard stream and returns a client to read it.
func newStream(t *testing.T, url, name string) *kinesis.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithCredentialsProvider(testCredentials))
	if err != nil {
		t.Fatal(err)
	}
	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	waiter := kinesis.NewStreamExistsWaiter(client, func(o *kinesis.StreamExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := waiter.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("waiting for the stream: %v", err)
	}
	return client
}

// readAll reads a one-shard stream from its start until want records
// arrived or a minute passed.
func readAll(t *testing.T, client *kinesis.Client, stream string, want int) []types.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	var got []types.Record
	iter := it.ShardIterator
	for len(got) < want && iter != nil {
		out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatalf("GetRecords after %d records: %v", len(got), err)
		}
		got = append(got, out.Records...)
		iter = out.NextShardIterator
		if len(out.Records) == 0 {
			time.Sleep(50 * time.Millisecond) // polling a stream, as consumers do
		}
	}
	return got
}

func TestRecordsArriveInKinesisOnceInOrder(t *testing.T) {
	url := startKinesalite(t)
	reader := newStream(t, url, "logs")
	o := newOutput(t, url, "stream", "logs", "partition_key", "$kubernetes['pod_name']", "time_key", "time")

	batch := numbered(1203)
	for i := range batch {
		batch[i].Fields["kubernetes"] = map[string]any{"pod_name": "web-1"}
	}
	send(t, o, batch)

	got := readAll(t, reader, "logs", len(batch))
	if len(got) != len(batch) {
		t.Fatalf("%d records read back, want %d", len(got), len(batch))
	}
	for i, r := range got {
		want := fmt.Sprintf(`{"kubernetes":{"pod_name":"web-1"},"log":"%d","time":"2025-03-01T12:00:00"}`, i)
		if string(r.Data) != want {
			t.Fatalf("record %d = %s, want %s: every record once, in order", i, r.Data, want)
		}
		if aws.ToString(r.PartitionKey) != "web-1" {
			t.Fatalf("record %d partition key %q, want the pod name", i, aws.ToString(r.PartitionKey))
		}
	}
}

func TestMissingStreamIsPermanentOnKinesis(t *testing.T) {
	url := startKinesalite(t)
	o := newOutput(t, url, "stream", "nope")
	err := o.Send(context.Background(), numbered(1))
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("Send = %v, want ResourceNotFoundException", err)
	}
	assertPermanent(t, err)
}
