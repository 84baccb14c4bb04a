package awsclient

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Compression compresses each record's data on its own, as Fluent Bit's
// firehose and kinesis plugins do; "" leaves it as it is.
type Compression string

// ReadCompression reads the compression key, taking only the kinds in
// supported.
func ReadCompression(name, value string, supported ...Compression) (Compression, error) {
	c := Compression(strings.ToLower(strings.TrimSpace(value)))
	if c == "" || c == "none" {
		return "", nil
	}
	if !slices.Contains(supported, c) {
		return "", fmt.Errorf("output %q: compression %q is not supported by fargo: use %v, or remove compression", name, value, supported)
	}
	return c, nil
}

// Apply compresses data.
func (c Compression) Apply(data []byte) ([]byte, error) {
	var b bytes.Buffer
	var w io.WriteCloser
	switch c {
	case "":
		return data, nil
	case "gzip":
		w = gzip.NewWriter(&b)
	case "zlib":
		w = zlib.NewWriter(&b)
	default:
		return nil, fmt.Errorf("compression %q is not supported", string(c))
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
