package hub

import (
	"fmt"

	"teleconsole/uhiclient"
)

// Headers of the messages between the hub and the consoles.
const (
	// headerTarget names the consumer_uri an outbound request goes to.
	headerTarget = "Uhi-Target"
	// headerKeyID carries the keyId the hub verified an inbound message's
	// signature with, if it checked one.
	headerKeyID = "Uhi-Key-Id"
)

// outboundReply is the hub's answer to an outbound request: what the
// patient's endpoint answered, or why it was not reached. A reply with
// neither Error nor Message is the patient's ACK.
type outboundReply struct {
	// Status is the HTTP status of the NACK, the patient's or the hub's.
	Status int `json:"status,omitempty"`
	// Error is the NACK's error object.
	Error *uhiclient.ErrorBody `json:"error,omitempty"`
	// Message says why the patient was not reached when no NACK came
	// (the network, or every retry spent).
	Message string `json:"message,omitempty"`
}

// err is the reply as the console's Send returns it: nil for an ACK, a
// *uhiclient.NackError for a NACK.
func (r outboundReply) err() error {
	switch {
	case r.Error != nil:
		return &uhiclient.NackError{HTTPStatus: r.Status, Type: r.Error.Type, Code: r.Error.Code,
			Path: r.Error.Path, Message: r.Error.Message}
	case r.Message != "":
		return fmt.Errorf("through the hub: %s", r.Message)
	}
	return nil
}
