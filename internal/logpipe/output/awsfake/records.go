package awsfake

import (
	"fmt"
	"slices"
)

// Limits of Firehose's PutRecordBatch and Kinesis' PutRecords the fake
// enforces.
const (
	MaxFirehoseRecords     = 500
	MaxFirehoseBatchBytes  = 4 << 20
	MaxFirehoseRecordBytes = 1000 << 10
	MaxKinesisRecords      = 500
	MaxKinesisBatchBytes   = 5 << 20
	MaxKinesisRecordBytes  = 1 << 20
	maxPartitionKey        = 256
)

// KinesisRecord is one Kinesis record as stored.
type KinesisRecord struct {
	Data         []byte
	PartitionKey string
}

// CreateDeliveryStream makes a Firehose delivery stream exist.
func (s *Server) CreateDeliveryStream(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.deliveries[name]; !ok {
		s.deliveries[name] = [][]byte{}
	}
}

// FirehoseRecords returns the data of the records a delivery stream
// accepted, in order.
func (s *Server) FirehoseRecords(name string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries[name])
}

// CreateKinesisStream makes a Kinesis stream exist.
func (s *Server) CreateKinesisStream(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.kinesis[name]; !ok {
		s.kinesis[name] = []KinesisRecord{}
	}
}

// KinesisRecords returns the records a Kinesis stream accepted, in order.
func (s *Server) KinesisRecords(name string) []KinesisRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.kinesis[name])
}

type firehoseRecord struct {
	Data []byte `json:"Data"`
}

func (s *Server) putRecordBatch(body []byte) (any, *apiError) {
	var in struct {
		DeliveryStreamName string           `json:"DeliveryStreamName"`
		Records            []firehoseRecord `json:"Records"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, ok := s.deliveries[in.DeliveryStreamName]; !ok {
		return nil, errorf(400, "ResourceNotFoundException", "Firehose %s not found.", in.DeliveryStreamName)
	}
	data := make([][]byte, len(in.Records))
	for i, r := range in.Records {
		data[i] = r.Data
	}
	if err := checkBatch(data, nil, MaxFirehoseRecords, MaxFirehoseBatchBytes, MaxFirehoseRecordBytes); err != nil {
		return nil, err
	}
	fail := s.takeEntryFailures()
	responses := make([]map[string]any, len(data))
	failed := 0
	for i, d := range data {
		if fail[i] {
			failed++
			responses[i] = map[string]any{"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down (awsfake)"}
			continue
		}
		s.deliveries[in.DeliveryStreamName] = append(s.deliveries[in.DeliveryStreamName], d)
		responses[i] = map[string]any{"RecordId": fmt.Sprintf("fake-%d", s.nextSequence())}
	}
	return map[string]any{"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses}, nil
}

func (s *Server) putRecord(body []byte) (any, *apiError) {
	var in struct {
		DeliveryStreamName string         `json:"DeliveryStreamName"`
		Record             firehoseRecord `json:"Record"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, ok := s.deliveries[in.DeliveryStreamName]; !ok {
		return nil, errorf(400, "ResourceNotFoundException", "Firehose %s not found.", in.DeliveryStreamName)
	}
	if err := checkBatch([][]byte{in.Record.Data}, nil, 1, MaxFirehoseRecordBytes, MaxFirehoseRecordBytes); err != nil {
		return nil, err
	}
	s.deliveries[in.DeliveryStreamName] = append(s.deliveries[in.DeliveryStreamName], in.Record.Data)
	return map[string]any{"RecordId": fmt.Sprintf("fake-%d", s.nextSequence()), "Encrypted": false}, nil
}

func (s *Server) putKinesisRecords(body []byte) (any, *apiError) {
	var in struct {
		StreamName string `json:"StreamName"`
		Records    []struct {
			Data         []byte `json:"Data"`
			PartitionKey string `json:"PartitionKey"`
		} `json:"Records"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, ok := s.kinesis[in.StreamName]; !ok {
		return nil, errorf(400, "ResourceNotFoundException", "Stream %s not found.", in.StreamName)
	}
	data := make([][]byte, len(in.Records))
	keys := make([]string, len(in.Records))
	for i, r := range in.Records {
		data[i], keys[i] = r.Data, r.PartitionKey
	}
	if err := checkBatch(data, keys, MaxKinesisRecords, MaxKinesisBatchBytes, MaxKinesisRecordBytes); err != nil {
		return nil, err
	}
	fail := s.takeEntryFailures()
	results := make([]map[string]any, len(data))
	failed := 0
	for i := range data {
		if fail[i] {
			failed++
			results[i] = map[string]any{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded (awsfake)"}
			continue
		}
		s.kinesis[in.StreamName] = append(s.kinesis[in.StreamName], KinesisRecord{data[i], keys[i]})
		results[i] = map[string]any{"SequenceNumber": fmt.Sprint(s.nextSequence()), "ShardId": "shardId-000000000000"}
	}
	return map[string]any{"FailedRecordCount": failed, "Records": results}, nil
}

// checkBatch enforces a batch call's limits on record count, record size
// and batch size; keys (Kinesis' partition keys) count towards sizes.
func checkBatch(data [][]byte, keys []string, maxRecords, maxBatch, maxRecord int) *apiError {
	if len(data) == 0 || len(data) > maxRecords {
		return errorf(400, "InvalidArgumentException", "%d records: a batch holds 1 to %d", len(data), maxRecords)
	}
	total := 0
	for i, d := range data {
		n := len(d)
		if keys != nil {
			if len(keys[i]) == 0 || len(keys[i]) > maxPartitionKey {
				return errorf(400, "ValidationException", "record %d: partition key of %d characters", i, len(keys[i]))
			}
			n += len(keys[i])
		}
		if len(d) == 0 || n > maxRecord {
			return errorf(400, "ValidationException", "record %d: %d bytes, a record holds 1 to %d", i, n, maxRecord)
		}
		total += n
	}
	if total > maxBatch {
		return errorf(400, "InvalidArgumentException", "batch of %d bytes exceeds %d", total, maxBatch)
	}
	return nil
}

func (s *Server) nextSequence() int {
	s.sequenceNumber++
	return s.sequenceNumber
}
