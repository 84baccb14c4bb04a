package kinesis

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"unicode/utf8"

	"github.com/fargo-dev/fargo/internal/logpipe"
)

// maxPartitionKey is the longest partition key Kinesis takes, in
// characters.
const maxPartitionKey = 256

// readPartitionKey reads partition_key: "" (random keys), a key, a record
// accessor ($kubernetes['pod_name']), or the Go plugin's nested form
// (kubernetes->pod_name).
func readPartitionKey(v string) (logpipe.Accessor, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if !strings.HasPrefix(v, "$") && strings.Contains(v, "->") {
		return logpipe.Accessor(strings.Split(v, "->")), nil
	}
	return logpipe.ParseAccessor(v)
}

// keyOf is rec's partition key: partition_key's value, cut to what
// Kinesis takes, or a random key when there is none.
func (o *Output) keyOf(rec logpipe.Record) string {
	if o.partitionKey != nil {
		if v, ok := o.partitionKey.Text(rec.Fields); ok && v != "" {
			return truncateRunes(v, maxPartitionKey)
		}
	}
	return randomKey()
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// randomKey spreads records over shards; it need not be secret.
func randomKey() string {
	var b [8]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b[:])
}
