package uhiclient

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// NACK error codes (docs/protocol.md §1). The first four are the reference HSPA's;
// the others are this console's, numbered after the HTTP status they go with.
const (
	// CodeAuthMissing means the Authorization header is missing (reference HSPA).
	CodeAuthMissing = "UHI-1401"
	// CodeInvalidSignature means the signature does not verify (reference HSPA).
	CodeInvalidSignature = "UHI-1405"
	// CodeHeaderFailed means header verification failed: format, window or key (reference HSPA).
	CodeHeaderFailed = "UHI-1408"
	// CodeInvalidJSON means the body is not valid JSON or breaks the schema (reference HSPA).
	CodeInvalidJSON = "UHI-1411"
	// CodeBadRequest means a wrong method or a message for another receiver.
	CodeBadRequest = "UHI-1400"
	// CodeTooLarge means the body is over the size limit.
	CodeTooLarge = "UHI-1413"
	// CodeUnavailable means the message cannot be taken now; the sender should retry.
	CodeUnavailable = "UHI-1503"
)

// NACK error types, as Beckn-style peers use them.
const (
	// TypeSchema is for bodies that are not valid JSON or break the envelope's shape.
	TypeSchema = "JSON-SCHEMA-ERROR"
	// TypeContext is for requests that reach the wrong endpoint or receiver.
	TypeContext = "CONTEXT-ERROR"
	// TypePolicy is for refused signatures and oversized bodies.
	TypePolicy = "POLICY-ERROR"
	// TypeCore is for the receiver's own temporary trouble.
	TypeCore = "CORE-ERROR"
)

// ackBody is the exact HTTP acknowledgement of docs/protocol.md §1.
var ackBody = []byte(`{"message":{"ack":{"status":"ACK"}}}`)

// ErrorBody is the error object of a NACK reply (docs/protocol.md §1).
type ErrorBody struct {
	// Type is the error class, e.g. "JSON-SCHEMA-ERROR".
	Type string `json:"type"`
	// Code is the UHI code, e.g. "UHI-1411".
	Code string `json:"code"`
	// Path is the dotted path of the offending field, when there is one.
	Path string `json:"path"`
	// Message says what is wrong.
	Message string `json:"message"`
}

type ackStatus struct {
	Status string `json:"status"`
}

type ackMessage struct {
	Ack ackStatus `json:"ack"`
}

// ackReply is the whole reply body, ACK or NACK.
type ackReply struct {
	Message ackMessage `json:"message"`
	Error   *ErrorBody `json:"error,omitempty"`
}

func writeAck(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(ackBody)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ackBody)
}

func writeNack(w http.ResponseWriter, status int, e ErrorBody) {
	b, _ := json.Marshal(ackReply{Message: ackMessage{Ack: ackStatus{Status: "NACK"}}, Error: &e})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
