package vmproto

import (
	"encoding/binary"
	"errors"
	"time"
)

// Log is a piece of a container's output, sent on stream 0 as the
// container writes it. It is binary, not JSON: logs are the busiest
// traffic on the channel.
type Log struct {
	ID string
	// Stderr tells the output's stream; else it is stdout.
	Stderr bool
	Time   time.Time
	Data   []byte
}

// logHeader is the flags byte, the ID's length and the time.
const logHeader = 1 + 1 + 8

// MaxLogData is the most output one Log frame carries for an ID of idLen
// bytes.
func MaxLogData(idLen int) int { return MaxPayload - logHeader - idLen }

// Encode is the frame payload of l; Data must fit in MaxLogData.
func (l Log) Encode() []byte {
	b := make([]byte, logHeader+len(l.ID)+len(l.Data))
	if l.Stderr {
		b[0] = 1
	}
	b[1] = byte(len(l.ID))
	binary.BigEndian.PutUint64(b[2:10], uint64(l.Time.UnixNano()))
	n := copy(b[logHeader:], l.ID)
	copy(b[logHeader+n:], l.Data)
	return b
}

// DecodeLog reads a Log frame's payload.
func DecodeLog(p []byte) (Log, error) {
	if len(p) < logHeader || len(p) < logHeader+int(p[1]) {
		return Log{}, errors.New("vmproto: short log frame")
	}
	idEnd := logHeader + int(p[1])
	return Log{
		Stderr: p[0]&1 != 0,
		ID:     string(p[logHeader:idEnd]),
		Time:   time.Unix(0, int64(binary.BigEndian.Uint64(p[2:10]))),
		Data:   p[idEnd:],
	}, nil
}
